import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { MAX_LISTED_PROBLEMS } from '../../engine/probes/inputs.ts';
import { MAX_MASK_ENTRIES } from '../../engine/protocol/methods.ts';
import { fromEasySteer, toEasySteer } from '../../engine/steering/easysteer.ts';
import { parseMaskFile, readMaskFile } from '../../engine/steering/mask-file.ts';
import { entryProblems, locate } from '../../engine/steering/mask-fit.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-mask-limits-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const model = { architecture: 'qwen2_moe', layers: 3, experts: 8, topK: 2, checkpoint: 'x' };
const target = { identity: model, moeLayers: [0, 2] };
const maskText = (entries: unknown[]) => JSON.stringify({ format: 'mote-mask', version: 1, model, mode: 'backfill', forceWeight: 'natural', entries });

describe('mask sizes and error texts (item 6)', () => {
  it('the command line prints a short error for a large invalid mask (it printed one 230 MB line)', () => {
    const entry = { layer: 'x', expert: -1, state: 'on' };
    const file = path.join(dir, 'invalid.json');
    fs.writeFileSync(file, maskText(Array(MAX_MASK_ENTRIES).fill(entry)));
    assert.ok(fs.statSync(file).size > 3e6);
    const huge = path.join(dir, 'huge.json');
    fs.writeFileSync(huge, `{"entries": [${'{"layer": "x", "expert": -1, "state": "on"}, '.repeat(1_000_000)}{}]}`);
    for (const [mask, pattern] of [
      [file, /^mote: .*invalid\.json: entries\[0\]\.layer: expected a non-negative integer; .* … and 299,980 more problems\n$/],
      [huge, /^mote: .*huge\.json: is 4\d\.\d MiB; a mask may be at most 16 MiB\n$/],
    ] as const) {
      const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/mote.js'), 'generate', '--model', '/nonexistent/model', '--prompt', 't5', '--mask', mask], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 1);
      assert.match(r.stderr, pattern);
      assert.ok(r.stderr.length < 4000, `${r.stderr.length} characters of stderr`);
    }
  });

  it('readMaskFile refuses more entries than a request may carry, on the count', () => {
    const file = path.join(dir, 'many.json');
    fs.writeFileSync(file, maskText(Array(MAX_MASK_ENTRIES + 1).fill({ layer: 0, expert: 0, state: 'off' })));
    assert.throws(() => readMaskFile(file), new RegExp(`many\\.json: entries: 100,001 entries, more than the 100,000 a mask may hold$`));
    fs.writeFileSync(file, maskText(Array(MAX_MASK_ENTRIES).fill({ layer: 0, expert: 0, state: 'off', extra: 'dropped' })));
    const read = readMaskFile(file);
    assert.equal(read.entries.length, MAX_MASK_ENTRIES);
    assert.deepEqual(read.entries[0], { layer: 0, expert: 0, state: 'off' }, 'only the known fields travel on');
  });

  it('lists the first problems and counts the rest, whatever finds them', () => {
    const entries = Array.from({ length: 5000 }, (_, i) => ({ layer: 1, expert: i % 8, state: 'off' as const }));
    const problems = entryProblems(locate(entries), target);
    assert.equal(problems.count, 5000);
    const listed = problems.list();
    assert.equal(listed.length, MAX_LISTED_PROBLEMS + 1);
    assert.equal(listed.at(-1), '… and 4,980 more problems');
    assert.throws(() => parseMaskFile(maskText([...Array(30).fill({ layer: -1, expert: 0, state: 'off' })]), 'm.json'), /… and 10 more problems$/);
    assert.throws(() => fromEasySteer({ layer_configs: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, {}])) }, 'e.json'),
      /^Error: e\.json: layer_configs\["k0"\]: the key must be a decoder-layer index; .*… and 30 more problems$/);
  });

  it('EasySteer in both directions stays linear: 100 000 ids, half of them forced, in one layer', () => {
    const ids = Array.from({ length: 50_000 }, (_, i) => i % 8);
    const start = performance.now();
    const { mask, warnings } = fromEasySteer({ layer_configs: { 0: { activate_ids: ids, deactivate_ids: ids } } }, 'both.json');
    assert.ok(performance.now() - start < 2000, `${performance.now() - start} ms`);
    assert.deepEqual(mask.entries.map((e) => `${e.expert}${e.state}`).sort(), Array.from({ length: 8 }, (_, i) => `${i}off`));
    assert.equal(warnings.length, MAX_LISTED_PROBLEMS + 1, 'warnings are capped too');
    assert.match(warnings.at(-1)!, /^… and 49,980 more warnings$/);
    const back = toEasySteer({ mode: 'backfill', forceWeight: 'max', entries: Array.from({ length: MAX_MASK_ENTRIES }, (_, i) => ({ layer: i % 61, expert: i % 384, state: 'off' })) });
    assert.equal(Object.keys(back.layer_configs).length, 61);
  });

  it('a mode named like an Object.prototype member is an unknown mode, not a crash', () => {
    assert.throws(() => fromEasySteer({ layer_configs: { 0: { mode: 'toString', expert_ids: [1] } } }, 'p.json'), /p\.json: layer_configs\["0"\]\.mode: expected "activate" or "deactivate", got "toString"/);
    assert.throws(() => fromEasySteer({ layer_configs: { 0: { mode: '__proto__', expert_ids: [1] } } }, 'p.json'), /got "__proto__"/);
  });
});
