import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadTokenizer } from '../../engine/model/tokenizer.ts';
import { testCacheDir } from '../helpers/engine-run.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** Word-level vocabulary of "t0", "t1", …: English is unknown to it. */
const GOLDEN = path.resolve(ROOT, '../shared/golden/qwen2_moe-f32');

function probeRun(slots: Record<string, string[]>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-unk-'));
  const set = path.join(dir, 'set.json');
  fs.writeFileSync(set, JSON.stringify({ id: 's', title: 's', type: 'templates', chat: false, classes: [{ id: 'a' }, { id: 'b' }], templates: [{ text: '{x}' }], slots: { x: slots } }));
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/mote.js'), 'probe', 'run', '--model', GOLDEN, '--set', set, '--db', path.join(dir, 'r.db')], {
    encoding: 'utf8', env: { ...process.env, MOTE_CACHE_DIR: testCacheDir }, timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return { set, stderr: r.stderr, stdout: r.stdout };
}

describe('mote probe run: unknown tokens', () => {
  it("warns, naming the set and the model, when the set's text is mostly the unknown token; the run still records", async () => {
    const texts = ['How do I make bread?', 'What colour is t3 t4?'];
    const { set, stderr, stdout } = probeRun({ a: [texts[0]], b: [texts[1]] });
    const tokenizer = await loadTokenizer(GOLDEN, JSON.parse(fs.readFileSync(path.join(GOLDEN, 'config.json'), 'utf8')));
    const ids = texts.flatMap((t) => tokenizer.encode(t, { addSpecialTokens: false }));
    const unknown = ids.filter((id) => tokenizer.tokenText(id) === '<unk>').length;
    assert.ok(unknown > ids.length / 2);
    assert.ok(stderr.includes(`warning: ${set}: ${unknown} of ${ids.length} tokens of this set (in 2 of 2 prompts) are unknown (<unk>) to qwen2_moe-f32's tokenizer: `), stderr);
    assert.match(stderr, /e\.g\. "How", "do", "I", "make", "bread"/);
    assert.match(stdout, /2 prompts recorded/);
  });

  it('says nothing for a set the tokenizer reads', () => {
    assert.doesNotMatch(probeRun({ a: ['t2 t3 t10'], b: ['t2 t3 t11'] }).stderr, /unknown/);
  });
});
