import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openDatabase } from '../../engine/store/database.ts';
import { createRun, getPrompts, recordPrompt } from '../../engine/store/runs.ts';
import { testCacheDir } from '../helpers/engine-run.ts';
import { newRun, randomPrompt } from '../store/helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const GOLDEN = path.resolve(ROOT, '../shared/golden/qwen2_moe-f32');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-probe-check-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

function mote(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/mote.js'), ...args], {
    encoding: 'utf8', env: { ...process.env, MOTE_CACHE_DIR: testCacheDir }, timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A templates set whose expansion is known by hand: 2 templates × 3 values for "a", 2 × 1 for "b". */
const SET = {
  id: 'hand-counted', title: 'Hand counted', type: 'templates',
  classes: [{ id: 'a' }, { id: 'b' }],
  templates: [{ text: 'Tell me about {thing}.' }, { text: 'What is {thing}?' }],
  slots: { thing: { a: ['apples', 'pears', 'plums'], b: ['rocks'] } },
};

describe('mote probe check', () => {
  it('prints the classes and their prompt counts of a valid set, exit code 0', () => {
    const file = path.join(work, 'hand.json');
    fs.writeFileSync(file, JSON.stringify(SET, null, 2));
    const r = mote('probe', 'check', file);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /valid — set hand-counted "Hand counted" \(templates\), 8 prompts/);
    assert.match(r.stdout, /^ {2}a: 6 prompts$/m);
    assert.match(r.stdout, /^ {2}b: 2 prompts$/m);
    const json = JSON.parse(mote('probe', 'check', file, '--json').stdout);
    assert.deepEqual(json.classes, [{ class: 'a', prompts: 6 }, { class: 'b', prompts: 2 }]);
  });

  it('with --model, counts tokens with its tokenizer and fails when prompts exceed its context', () => {
    const file = path.join(work, 'hand.json');
    fs.writeFileSync(file, JSON.stringify(SET, null, 2));
    const r = mote('probe', 'check', file, '--model', GOLDEN, '--json');
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    assert.equal(json.tokens.perPrompt.length, 8);
    assert.ok(json.tokens.perPrompt.every((n: number) => Number.isInteger(n) && n > 0), String(json.tokens.perPrompt));
    assert.equal(json.tokens.overContext, 0);
    const long = path.join(work, 'long.json');
    fs.writeFileSync(long, JSON.stringify({ ...SET, slots: { thing: { a: ['word '.repeat(20_000)], b: ['rocks'] } } }));
    const over = mote('probe', 'check', long, '--model', GOLDEN);
    assert.equal(over.code, 1);
    assert.match(over.stdout, /2 of 4 prompts are longer than the model's context of \d+ tokens/);
  });

  it('lists every problem with its line and field, exit code 1', () => {
    const file = path.join(work, 'broken.yaml');
    fs.writeFileSync(file, ['id: broken', 'title: Broken', 'type: templates', 'classes:', '  - id: a', 'templates:', '  - text: "About {thing} and {other}"',
      'slots:', '  thing:', '    a: [x]', '    z: [y]'].join('\n'));
    const r = mote('probe', 'check', file);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`${file}:7: templates\\[0\\]\\.text: \\{other\\} has no slot`));
    assert.match(r.stderr, new RegExp(`${file}:11: slots\\.thing\\.z: "z" is not a class of this set`));
    const missing = mote('probe', 'check', path.join(work, 'nope.json'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.json: /);
  });
});

describe('mote runs annotate / delete', () => {
  it('sets a note shown by runs list and show, and deletes a run with its prompts', () => {
    const dbFile = path.join(work, 'runs.sqlite');
    const db = openDatabase(dbFile);
    const shape = { moeLayers: [0, 1], numExperts: 8, topK: 2 };
    const [first, second] = [createRun(db, newRun(shape, 2)), createRun(db, newRun(shape, 2))];
    for (const runId of [first, second]) recordPrompt(db, runId, randomPrompt(runId, 0, 2, 2, 8), shape.moeLayers, shape.topK);
    db.close();

    assert.equal(mote('runs', 'annotate', String(first), '  baseline before retrain ', '--db', dbFile).code, 0);
    const list = mote('runs', 'list', '--db', dbFile);
    assert.match(list.stdout.split('\n')[0], /\tnote$/);
    const row = list.stdout.split('\n').find((l) => l.startsWith(`${first}\t`))!;
    assert.match(row, /\tbaseline before retrain$/);
    assert.match(mote('runs', 'show', String(first), '--db', dbFile).stdout, /^note {4}baseline before retrain$/m);

    const deleted = mote('runs', 'delete', String(second), '--db', dbFile);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, new RegExp(`deleted run ${second} \\(refusal-demo, running, 1 prompts recorded\\)`));
    const ids = JSON.parse(mote('runs', 'list', '--db', dbFile, '--json').stdout).map((r: { id: number }) => r.id);
    assert.deepEqual(ids, [first]);
    const check = openDatabase(dbFile);
    assert.equal(getPrompts(check, second).length, 0);
    assert.equal(getPrompts(check, first).length, 1);
    check.close();

    const again = mote('runs', 'delete', String(second), '--db', dbFile);
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`run ${second} does not exist`));
    assert.equal(mote('runs', 'delete', 'x', '--db', dbFile).code, 1);
  });
});

describe('mote probe run, again', () => {
  it('reports a set already recorded with the same model and options instead of recording it twice; --new records it', () => {
    const set = path.join(work, 'tiny.json');
    fs.writeFileSync(set, JSON.stringify({
      id: 'tiny', title: 'tiny', type: 'templates', chat: false, classes: [{ id: 'a' }, { id: 'b' }],
      templates: [{ text: 't2 t3 {x} t4' }], slots: { x: { a: ['t10'], b: ['t30'] } },
    }));
    const dbFile = path.join(work, 'again.sqlite');
    const run = (...extra: string[]) => mote('probe', 'run', '--model', GOLDEN, '--set', set, '--db', dbFile, '--generate', '1', '--threads', '1', ...extra);
    const first = run();
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^run 1: finished, 2 prompts recorded$/m);
    const again = run();
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^this set was already recorded as run 1 \(finished \d{4}-\d\d-\d\dT[^)]+\) with the same model, precision and options: see `mote runs show 1`, or record it again with --new$/m);
    assert.equal(JSON.parse(mote('runs', 'list', '--db', dbFile, '--json').stdout).length, 1);
    const forced = run('--new');
    assert.match(forced.stdout, /^run 2: finished, 2 prompts recorded$/m);
  });
});
