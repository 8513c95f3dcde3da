import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { greedyWithCache, maxAbsDiff, openRunner } from '../helpers/engine-run.ts';
import type { ExpertMask } from '../../engine/steering/mask.ts';

/** Reference checkpoints computed by a separate PyTorch implementation (../shared/golden/README.md). */
const GOLDEN = path.resolve(import.meta.dirname, '../../../shared/golden');
const cases: string[] = JSON.parse(fs.readFileSync(path.join(GOLDEN, 'index.json'), 'utf8')).cases;
const TOLERANCE = 1e-4;

interface GoldenRouting {
  layer: number;
  router_logits?: number[][];
  selected: number[][];
  weights: number[][];
}

interface GoldenRun {
  generated_ids: number[];
  step_logits: number[][];
  routing_full_sequence: GoldenRouting[];
}

function assertRouting(actual: Awaited<ReturnType<typeof greedyWithCache>>['routing'], expected: GoldenRouting[], label: string) {
  assert.equal(actual.length, expected.length, `${label}: number of MoE layers`);
  expected.forEach((g, l) => {
    assert.equal(actual[l][0].layer, g.layer, `${label}: MoE layer ${l} index`);
    g.selected.forEach((sel, t) => {
      const got = actual[l][t];
      assert.deepEqual(got.selected, sel, `${label}: layer ${g.layer} token ${t} selected experts`);
      assert.ok(maxAbsDiff(got.weights, g.weights[t]) < TOLERANCE, `${label}: layer ${g.layer} token ${t} weights ${got.weights} vs ${g.weights[t]}`);
      if (g.router_logits) assert.ok(maxAbsDiff(got.routerLogits, g.router_logits[t]) < TOLERANCE, `${label}: layer ${g.layer} token ${t} router logits`);
    });
  });
}

function assertRun(actual: Awaited<ReturnType<typeof greedyWithCache>>, expected: GoldenRun, label: string) {
  assert.deepEqual(actual.generated, expected.generated_ids, `${label}: generated ids`);
  expected.step_logits.forEach((row, i) => {
    const diff = maxAbsDiff(actual.stepLogits[i], row);
    assert.ok(diff < TOLERANCE, `${label}: step ${i} logits differ by ${diff}`);
  });
  assertRouting(actual.routing, expected.routing_full_sequence, label);
}

describe('golden reference checkpoints', () => {
  for (const name of cases) {
    it(`${name}: prefill logits, 8 cached decode steps, routing and steered runs match`, async () => {
      const dir = path.join(GOLDEN, name);
      const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
      const runner = await openRunner(dir);
      try {
        const steps = expected.generated_ids.length;
        const run = await greedyWithCache(runner, expected.prompt_ids, steps, runner.steering());
        (expected.prefill_logits as number[][]).forEach((row, t) => {
          const diff = maxAbsDiff(run.prefillLogits[t], row);
          assert.ok(diff < TOLERANCE, `prefill position ${t} logits differ by ${diff}`);
        });
        assertRun(run, expected, name);
        for (const steered of expected.steered as (GoldenRun & { mode: ExpertMask['mode']; force_weight: ExpertMask['forceWeight']; mask: ExpertMask['entries'] })[]) {
          const mask: ExpertMask = { mode: steered.mode, forceWeight: steered.force_weight, entries: steered.mask };
          const steeredRun = await greedyWithCache(runner, expected.prompt_ids, steps, runner.steering(mask));
          assertRun(steeredRun, steered, `${name} ${steered.mode}`);
        }
      } finally {
        await runner.dispose();
      }
    });
  }
});
