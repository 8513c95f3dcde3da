import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goldenCaseNames, goldenMask, loadGoldenCase, type GoldenRouting, type GoldenRun } from '../helpers/golden.ts';
import { greedyWithCache, maxAbsDiff, openRunner } from '../helpers/engine-run.ts';

/** Reference checkpoints computed by a separate PyTorch implementation (../shared/golden/README.md). */
const TOLERANCE = 1e-4;

type EngineRun = Awaited<ReturnType<typeof greedyWithCache>>;

function assertRouting(actual: EngineRun['routing'], expected: GoldenRouting[], label: string) {
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

function assertRun(actual: EngineRun, expected: GoldenRun, label: string) {
  assert.deepEqual(actual.generated, expected.generated_ids, `${label}: generated ids`);
  expected.step_logits.forEach((row, i) => {
    const diff = maxAbsDiff(actual.stepLogits[i], row);
    assert.ok(diff < TOLERANCE, `${label}: step ${i} logits differ by ${diff}`);
  });
  assertRouting(actual.routing, expected.routing_full_sequence, label);
}

const GOLDEN_CASES = goldenCaseNames();

describe('golden reference checkpoints', () => {
  for (const name of GOLDEN_CASES) {
    it(`${name}: prefill logits, 8 cached decode steps, routing and steered runs match`, async () => {
      const { dir, expected } = loadGoldenCase(name);
      const runner = await openRunner(dir);
      try {
        const steps = expected.generated_ids.length;
        const run = await greedyWithCache(runner, expected.prompt_ids, steps, runner.steering());
        expected.prefill_logits.forEach((row, t) => {
          const diff = maxAbsDiff(run.prefillLogits[t], row);
          assert.ok(diff < TOLERANCE, `prefill position ${t} logits differ by ${diff}`);
        });
        assertRun(run, expected, name);
        assert.equal(expected.steered.length, 2, 'a backfill and a drop run');
        for (const steered of expected.steered) {
          const steeredRun = await greedyWithCache(runner, expected.prompt_ids, steps, runner.steering(goldenMask(steered)));
          assertRun(steeredRun, steered, `${name} ${steered.mode}`);
        }
      } finally {
        await runner.dispose();
      }
    });
  }
});
