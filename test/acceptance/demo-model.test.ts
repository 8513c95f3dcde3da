import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { evaluateMask, type EvaluationResult } from '../../engine/analysis/evaluate.ts';
import { rankExperts } from '../../engine/analysis/rank.ts';
import { loadTokenizer, type TextTokenizer } from '../../engine/model/tokenizer.ts';
import { loadProbeSet } from '../../engine/probes/load-probe-set.ts';
import { runProbes } from '../../engine/probes/run-probes.ts';
import { ModelRunner } from '../../engine/runtime/model-runner.ts';
import { openDatabase, type WritableDB } from '../../engine/store/database.ts';
import type { MaskEntry } from '../../engine/steering/mask.ts';
import { testCacheDir } from '../helpers/engine-run.ts';

/** What the embedded demo model exists to show (issue: fTRI §6), measured on the committed checkpoint. */
const ROOT = path.resolve(import.meta.dirname, '../..');
const DEMO = path.join(ROOT, 'models/demo');
const planted: { layer: number; expert: number }[] = JSON.parse(fs.readFileSync(path.join(DEMO, 'planted-experts.json'), 'utf8')).planted;
const P = planted.length;

for (const precision of ['f32', 'int8'] as const) describe(`demo model at ${precision}: the pipeline finds the planted experts and steering moves the behaviour`, () => {
  let runner: ModelRunner;
  let tokenizer: TextTokenizer;
  let db: WritableDB;
  let topP: MaskEntry[];
  let evaluation: EvaluationResult;

  before(async () => {
    runner = await ModelRunner.open(DEMO, { cacheDir: testCacheDir, threads: 1, precision });
    tokenizer = await loadTokenizer(DEMO, runner.checkpoint.config);
    db = openDatabase(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mote-demo-')), 'demo.db'));
    const setFile = path.join(ROOT, 'probes/demo-refusal.json');
    const { runId, status } = await runProbes(db, runner, tokenizer, { set: loadProbeSet(setFile), setPath: setFile, generateTokens: 0 });
    assert.equal(status, 'finished');
    const ranking = rankExperts(db, runId, 'refused', 'mote', 'prompt');
    topP = ranking.scores.slice(0, P).map((s) => ({ layer: s.layer, expert: s.expert, state: 'off' as const }));
    evaluation = await evaluateMask(runner, tokenizer, {
      set: loadProbeSet(path.join(ROOT, 'probes/demo-heldout.json')), setPath: path.join(ROOT, 'probes/demo-heldout.json'),
      mask: { mode: 'backfill', forceWeight: 'natural', entries: topP },
      behaviour: 'refused', targetClass: 'refused', randomControls: 5, dose: 0, maxTokens: 16,
    });
  });
  after(async () => {
    db?.close();
    await runner?.dispose();
  });

  it(`ranking recovers the planted experts: precision@${P} ≥ 0.8`, () => {
    const hits = topP.filter((e) => planted.some((p) => p.layer === e.layer && p.expert === e.expert)).length;
    assert.ok(hits / P >= 0.8, `top ${P}: ${JSON.stringify(topP.map((e) => [e.layer, e.expert]))}, planted ${JSON.stringify(planted.map((p) => [p.layer, p.expert]))}`);
  });

  it('switching off the top-ranked experts cuts held-out refusals by ≥ 50 % relative; benign accuracy down ≤ 5 points', () => {
    const base = evaluation.baseline.behaviourRate!;
    const masked = evaluation.masked.behaviourRate!;
    assert.ok(base >= 0.5, `the demo refuses its held-out refused prompts (baseline ${base})`);
    assert.ok(masked <= base * 0.5, `refusals ${base} → ${masked}`);
    assert.ok(evaluation.baseline.benignAccuracy! - evaluation.masked.benignAccuracy! <= 0.05,
      `benign accuracy ${evaluation.baseline.benignAccuracy} → ${evaluation.masked.benignAccuracy}`);
  });

  it('random masks of the same size (5 seeds) cut refusals by ≤ 20 % relative on average', () => {
    const base = evaluation.baseline.behaviourRate!;
    const mean = evaluation.randomSummary!.behaviourMean;
    assert.equal(evaluation.randomControls.length, 5);
    assert.ok((base - mean) / base <= 0.2, `refusals ${base} → random mean ${mean}`);
  });

  it('forcing the planted experts on benign prompts raises their refusal rate by ≥ 20 points', () => {
    const before = evaluation.baseline.benignBehaviourRate!;
    const forced = evaluation.forced!.benignBehaviourRate!;
    assert.ok(forced - before >= 0.2, `benign refusals ${before} → ${forced}`);
  });
});
