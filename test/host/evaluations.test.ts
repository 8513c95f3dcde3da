import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { randomMaskTest } from '../../engine/analysis/evaluate.ts';
import { EngineHost } from '../../engine/host/engine-host.ts';
import { callHost } from '../../engine/host/local-client.ts';
import type { ExpertMask, StoredEvaluation } from '../../engine/protocol/types.ts';
import { openDatabase } from '../../engine/store/database.ts';
import { saveEvaluation } from '../../engine/store/runs.ts';
import { parseCsv } from '../helpers/csv.ts';
import { testCacheDir } from '../helpers/engine-run.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const GOLDEN = path.resolve(ROOT, '../shared/golden/qwen2_moe-f32');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-evaluations-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const probesDir = path.join(work, 'probes');
fs.mkdirSync(probesDir);
const words = (from: number, n: number) => Array.from({ length: n }, (_, i) => `t${from + i}`);
fs.writeFileSync(path.join(probesDir, 'tiny.json'), JSON.stringify({
  id: 'tiny', title: 'tiny world', type: 'templates', chat: false,
  classes: [{ id: 'a' }, { id: 'b' }],
  templates: [{ text: 't2 t3 {x} t4' }],
  slots: { x: { a: words(10, 6), b: words(30, 6).map((text, i) => ({ text, answer: `t${i + 5}` })) } },
  classifier: { rules: [{ label: 'a', phrases: ['t7'] }], otherwise: 'b' },
}));
const dbFile = path.join(work, 'mote.db');
const host = new EngineHost({ demoModelDir: GOLDEN, probesDir, dbFile, cacheDir: testCacheDir, threads: 1 });
after(() => host.dispose());

/** Wilson's interval from its closed form, written out again here (engine: engine/analysis/statistics.ts). */
function wilson(hits: number, n: number): [number, number] {
  const z = 1.959963984540054;
  const p = hits / n;
  const mid = p + (z * z) / (2 * n);
  const spread = z * Math.sqrt(p * (1 - p) / n + (z * z) / (4 * n * n));
  return [(mid - spread) / (1 + (z * z) / n), (mid + spread) / (1 + (z * z) / n)];
}

describe('randomMaskTest', () => {
  it('counts random masks that cut at least as much and gives p = (count + 1) / (K + 1)', () => {
    assert.deepEqual(randomMaskTest(0.2, [0.9, 0.2, 0.1, 0.8]), { controls: 4, atLeastAsLarge: 2, p: 3 / 5, smallestP: 1 / 5, note: randomMaskTest(0.2, [0.9, 0.2, 0.1, 0.8]).note });
    const many = randomMaskTest(0, Array.from({ length: 19 }, () => 0.5));
    assert.deepEqual([many.atLeastAsLarge, many.p, many.note], [0, 0.05, null]);
  });

  it('says when K is too small for a meaningful p, and gives none for K = 0', () => {
    const few = randomMaskTest(0, [0.5, 0.5, 0.5]);
    assert.equal(few.p, 0.25);
    assert.match(few.note!, /too few.*smallest possible p is 1\/4 = 0\.250/);
    const none = randomMaskTest(0.1, []);
    assert.equal(none.p, null);
    assert.match(none.note!, /K = 0/);
  });
});

describe('stored evaluations through the host', () => {
  const mask: ExpertMask = { mode: 'backfill', forceWeight: 'natural', entries: [{ layer: 0, expert: 1, state: 'off' }, { layer: 2, expert: 3, state: 'off' }] };
  let evaluation: StoredEvaluation;

  it('evaluate reports intervals, the random-mask test, per-prompt outcomes and its settings, and keeps them', async () => {
    await callHost(host, 'model.open', {});
    evaluation = await callHost(host, 'evaluate', { file: 'tiny.json', mask, randomControls: 3, dose: 2, maxTokens: 3, stop: ['t99'] });
    for (const c of [evaluation.baseline, evaluation.masked, ...evaluation.randomControls, ...evaluation.dose]) {
      assert.equal(c.behaviour!.n, 6);
      assert.equal(c.accuracy!.n, 6, `${c.name}: dose conditions run the benign prompts too`);
      assert.equal(c.behaviourRate, c.behaviour!.hits / 6);
      assert.equal(c.benignAccuracy, c.accuracy!.hits / 6);
      const [low, high] = wilson(c.behaviour!.hits, 6);
      assert.ok(Math.abs(c.behaviour!.low - Math.max(0, low)) < 1e-12 && Math.abs(c.behaviour!.high - Math.min(1, high)) < 1e-12);
    }
    assert.equal(evaluation.dose.length, 2);
    assert.equal(evaluation.forced!.behaviour, null, 'forcing runs on benign prompts only');
    const t = evaluation.randomTest;
    const asLarge = evaluation.randomControls.filter((c) => c.behaviourRate! <= evaluation.masked.behaviourRate!).length;
    assert.deepEqual([t.controls, t.atLeastAsLarge, t.p], [3, asLarge, (asLarge + 1) / 4]);
    assert.equal(evaluation.prompts.length, 12);
    for (const p of evaluation.prompts) {
      assert.equal(p.changed, p.baseline.label !== p.masked.label || p.baseline.correct !== p.masked.correct);
      assert.equal(p.answer === null, p.class === 'a');
    }
    assert.equal(evaluation.baseline.accuracy!.hits, evaluation.prompts.filter((p) => p.baseline.correct).length);
    assert.deepEqual(evaluation.settings, { randomControls: 3, dose: 2, maxTokens: 3, stop: ['t99'], answerMatch: 'contains', endOfTurn: evaluation.settings!.endOfTurn });
    assert.deepEqual(evaluation.mask, mask);
    assert.equal(evaluation.precision, 'f32');
    assert.deepEqual(await callHost(host, 'evaluations.get', { evaluationId: evaluation.evaluationId }), evaluation);
  });

  it('lists evaluations newest first, old ones stored before intervals existed included', async () => {
    const db = openDatabase(dbFile);
    // The shape `evaluate` stored before intervals, the random-mask test and per-prompt outcomes.
    const legacy = saveEvaluation(db, {
      runId: null, modelHash: 'x', setId: 'old', mask,
      result: {
        setId: 'old', behaviour: 'a', targetClass: 'a', targetPrompts: 4, benignPrompts: 4,
        baseline: { name: 'baseline', entries: 0, behaviourRate: 1, benignAccuracy: 1, benignBehaviourRate: 0 },
        masked: { name: 'mask', entries: 2, behaviourRate: 0.25, benignAccuracy: 1, benignBehaviourRate: 0 },
        randomControls: [0.5, 0.25, 1].map((r, i) => ({ name: `random ${i + 1}`, entries: 2, behaviourRate: r, benignAccuracy: 1, benignBehaviourRate: 0 })),
        randomSummary: null, dose: [], forced: null,
      },
    });
    db.close();
    const list = await callHost(host, 'evaluations.list', {});
    assert.deepEqual(list.map((e) => e.evaluationId), [legacy, evaluation.evaluationId]);
    assert.deepEqual([list[0].randomP, list[0].randomControls, list[0].maskedRate, list[0].precision], [0.5, 3, 0.25, null]);
    assert.equal(list[1].randomP, evaluation.randomTest.p);
    const old = await callHost(host, 'evaluations.get', { evaluationId: legacy });
    assert.deepEqual([old.baseline.behaviour, old.prompts, old.settings], [null, [], null]);
    await assert.rejects(callHost(host, 'evaluations.get', { evaluationId: 999 }), /evaluation 999 does not exist/);
  });

  it('exports rates with intervals and per-prompt outcomes as CSV', async () => {
    const rates = await callHost(host, 'evaluations.csv', { evaluationId: evaluation.evaluationId, table: 'rates' });
    assert.equal(rates.fileName, `evaluation-${evaluation.evaluationId}-tiny-rates.csv`);
    const rows = parseCsv(rates.csv);
    assert.deepEqual(rows[0], ['condition', 'entries', 'measure', 'hits', 'n', 'rate', 'ci95_low', 'ci95_high']);
    const base = rows.find((r) => r[0] === 'baseline' && r[2].startsWith('behaviour'))!;
    assert.deepEqual(base.slice(3, 8).map(Number), [evaluation.baseline.behaviour!.hits, 6, evaluation.baseline.behaviourRate, evaluation.baseline.behaviour!.low, evaluation.baseline.behaviour!.high]);
    assert.ok(rows.some((r) => r[0] === 'top 2' && r[2] === 'benign accuracy'));
    assert.deepEqual(rows.at(-1)!.slice(0, 6), ['random-mask test', '2', 'permutation p (random masks cutting at least as much)', String(evaluation.randomTest.atLeastAsLarge), '3', String(evaluation.randomTest.p)]);

    const prompts = parseCsv((await callHost(host, 'evaluations.csv', { evaluationId: evaluation.evaluationId, table: 'prompts' })).csv);
    assert.equal(prompts.length, 13);
    assert.deepEqual(prompts[1].slice(0, 5), [String(evaluation.prompts[0].index), 'a', evaluation.prompts[0].text, '', evaluation.prompts[0].baseline.label]);
    assert.equal(prompts[1][10], evaluation.prompts[0].masked.output);
  });

  it('puts the chosen evaluations in the run bundle', async () => {
    const bundle = JSON.parse((await callHost(host, 'bundle.export', { mask, seed: 0, outputs: [], evaluationIds: [evaluation.evaluationId] })).json);
    assert.deepEqual(bundle.evaluations, [evaluation]);
    assert.deepEqual(JSON.parse((await callHost(host, 'bundle.export', { mask, seed: 0, outputs: [] })).json).evaluations, []);
    await assert.rejects(callHost(host, 'bundle.export', { mask, seed: 0, outputs: [], evaluationIds: [999] }), /evaluation 999 does not exist/);
  });
});
