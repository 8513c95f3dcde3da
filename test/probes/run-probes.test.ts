import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadTokenizer } from '../../engine/model/tokenizer.ts';
import { runProbes } from '../../engine/probes/run-probes.ts';
import type { ProbeSet } from '../../engine/probes/probe-set.ts';
import { openDatabase } from '../../engine/store/database.ts';
import { getCounts, getPromptRouting, getPrompts, getRun } from '../../engine/store/runs.ts';
import { SPANS } from '../../engine/store/span-counts.ts';
import { writeTinyCheckpoint } from '../helpers/checkpoints.ts';
import { openRunner, testCacheDir } from '../helpers/engine-run.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-probe-run-'));
const modelDir = path.join(work, 'model');
writeTinyCheckpoint(modelDir, { family: 'qwen3_moe', seed: 4, tokenizer: true, config: { num_experts: 16, num_experts_per_tok: 4 } });

const words = (from: number, n: number) => Array.from({ length: n }, (_, i) => `t${from + i}`);
const SET: ProbeSet = {
  id: 'tiny', title: 'tiny world', type: 'templates', chat: false,
  classes: [{ id: 'a' }, { id: 'b' }],
  templates: [{ text: 't2 t3 {x} t4' }, { text: '{x} t5 {y}' }],
  slots: {
    x: { a: words(10, 6), b: words(30, 6) },
    y: ['t50', { text: 't51 t52', answer: 't9' }],
  },
  classifier: { rules: [{ label: 'a', phrases: ['t7'] }], otherwise: 'b' },
};
const setFile = path.join(work, 'tiny.json');
fs.writeFileSync(setFile, JSON.stringify(SET));
const PROMPTS = 2 * 6 + 2 * 6 * 2;

/** Counts of a run as comparable data. */
function countsOf(dbFile: string, runId: number) {
  const db = openDatabase(dbFile);
  try {
    return SPANS.map((span) => getCounts(db, runId, span));
  } finally {
    db.close();
  }
}

describe('probe runs', () => {
  it('records every prompt, its routing and labels; counts equal a recount of the stored routing', async () => {
    const runner = await openRunner(modelDir);
    const tokenizer = await loadTokenizer(modelDir, runner.checkpoint.config);
    const dbFile = path.join(work, 'direct.db');
    const db = openDatabase(dbFile);
    const seen: number[] = [];
    try {
      const result = await runProbes(db, runner, tokenizer, { set: SET, setPath: setFile, generateTokens: 3, onProgress: (p) => seen.push(p.done) });
      assert.equal(result.status, 'finished');
      assert.equal(result.recorded, PROMPTS);
      assert.deepEqual(seen, Array.from({ length: PROMPTS + 1 }, (_, i) => i), 'progress after every prompt');
      const prompts = getPrompts(db, result.runId);
      assert.equal(prompts.length, PROMPTS);
      assert.ok(prompts.every((p) => p.label === 'a' || p.label === 'b'));
      assert.equal(prompts.filter((p) => p.answer === 't9').length, 12);
      const k = 4;
      const recount = new Map<string, number>();
      for (const p of prompts) {
        const r = getPromptRouting(db, result.runId, p.idx)!;
        assert.equal(r.tokenIds.length, r.promptTokens + 3, 'three generated tokens kept');
        assert.equal(r.tokens, r.tokenIds.length, 'every token routed');
        for (let t = 0; t < r.promptTokens; t++) {
          for (let l = 0; l < r.moeLayers.length; l++) {
            for (let j = 0; j < k; j++) {
              const e = r.selected[(t * r.moeLayers.length + l) * k + j];
              const key = `${p.class}:${r.moeLayers[l]}:${e}`;
              recount.set(key, (recount.get(key) ?? 0) + 1);
            }
          }
        }
      }
      const { counts } = getCounts(db, result.runId, 'prompt');
      assert.equal(counts.length, recount.size);
      for (const c of counts) assert.equal(c.hits, recount.get(`${c.class}:${c.layer}:${c.expert}`), `${c.class} layer ${c.layer} expert ${c.expert}`);
      // The routing stored for the prompt tokens is what the runner gives for the same ids.
      const first = getPromptRouting(db, result.runId, 0)!;
      const { result: step } = await runner.step(runner.emptyCache(), Array.from(first.tokenIds.subarray(0, first.promptTokens)), runner.steering(), 1);
      const L = first.moeLayers.length;
      for (let t = 0; t < first.promptTokens; t++) {
        for (let l = 0; l < L; l++) {
          for (let j = 0; j < k; j++) assert.equal(first.selected[(t * L + l) * k + j], step.routing!.selected[(l * first.promptTokens + t) * k + j]);
        }
      }
    } finally {
      db.close();
      await runner.dispose();
    }
  });

  it('SIGKILL during a run, then resume: the final counts equal those of an uninterrupted run', async () => {
    const mote = (dbFile: string) => spawn(process.execPath, [path.join(ROOT, 'bin/mote.js'), 'probe', 'run', '--model', modelDir, '--set', setFile, '--db', dbFile, '--generate', '4', '--threads', '1'],
      { env: { ...process.env, MOTE_CACHE_DIR: testCacheDir }, stdio: ['ignore', 'pipe', 'pipe'] });
    const finish = (child: ReturnType<typeof mote>) => new Promise<{ code: number | null; out: string }>((resolve) => {
      let out = '';
      child.stdout!.on('data', (d) => { out += d; });
      child.stderr!.on('data', (d) => { out += d; });
      child.on('close', (code) => resolve({ code, out }));
    });

    const whole = path.join(work, 'whole.db');
    const uninterrupted = await finish(mote(whole));
    assert.equal(uninterrupted.code, 0, uninterrupted.out);

    const killed = path.join(work, 'killed.db');
    for (let attempt = 0; attempt < 3; attempt++) {
      const child = mote(killed);
      const closed = finish(child);
      // Kill once some prompts are recorded but not all.
      const target = [5, 11, 17][attempt];
      for (;;) {
        await new Promise((r) => setTimeout(r, 20));
        if (!fs.existsSync(killed)) continue;
        const db = openDatabase(killed);
        const n = db.prepare('SELECT count(*) FROM prompts').pluck().get() as number;
        db.close();
        if (n >= target || child.exitCode !== null) break;
      }
      child.kill('SIGKILL');
      await closed;
    }
    const db = openDatabase(killed);
    const before = db.prepare('SELECT count(*) FROM prompts').pluck().get() as number;
    assert.equal(getRun(db, 1)!.status, 'running', 'the killed run was left unfinished');
    db.close();
    assert.ok(before < PROMPTS, `killed before the end (${before} of ${PROMPTS})`);
    const resumed = await finish(mote(killed));
    assert.equal(resumed.code, 0, resumed.out);
    assert.match(resumed.out, /run 1: finished, \d+ prompts recorded \(resumed after \d+ recorded prompts\)/);
    assert.deepEqual(countsOf(killed, 1), countsOf(whole, 1));
    const a = openDatabase(killed);
    const b = openDatabase(whole);
    assert.deepEqual(getPrompts(a, 1), getPrompts(b, 1), 'same prompts, outputs and labels');
    a.close();
    b.close();
  });
});
