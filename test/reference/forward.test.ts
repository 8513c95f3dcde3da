import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { ExpertMask } from '../../engine/steering/mask.ts';
import { FAMILIES, writeTinyCheckpoint } from '../helpers/checkpoints.ts';
import { openCheckpointWeights } from '../helpers/checkpoint-weights.ts';
import { goldenCaseNames, goldenMask, loadGoldenCase, type GoldenRouting, type GoldenRun } from '../helpers/golden.ts';
import { referenceForward, referenceGreedy, type ReferenceRouting } from './forward.ts';

/**
 * BF16 weights widen exactly, and the golden values agree with this float64 reference to ~1e-14. The F32 cases'
 * expected values were evidently computed from weights that differ from the stored float32 values by float32
 * rounding (perturbing the weights by 2^-24 moves the logits by the same ~3e-7): measured worst differences are
 * 8.5e-7 for logits and 1.2e-6 for router logits.
 */
const TOLERANCE: Record<string, { logits: number; routerLogits: number }> = {
  BF16: { logits: 1e-12, routerLogits: 1e-12 },
  F32: { logits: 1e-6, routerLogits: 2e-6 },
};

function maxAbsDiff(actual: ArrayLike<number>, expected: number[]): number {
  assert.equal(actual.length, expected.length, 'lengths');
  return expected.reduce((max, value, i) => Math.max(max, Math.abs(actual[i] - value)), 0);
}

function assertRows(actual: ArrayLike<number>[], expected: number[][], tolerance: number, label: string) {
  assert.equal(actual.length, expected.length, `${label}: rows`);
  expected.forEach((row, i) => {
    const diff = maxAbsDiff(actual[i], row);
    assert.ok(diff <= tolerance, `${label} row ${i}: differs by ${diff}`);
  });
}

function assertRouting(actual: ReferenceRouting[], expected: GoldenRouting[], tolerance: typeof TOLERANCE.F32, label: string) {
  assert.deepEqual(actual.map((r) => r.layer), expected.map((r) => r.layer), `${label}: MoE layers`);
  expected.forEach((golden, l) => {
    const layerLabel = `${label} layer ${golden.layer}`;
    assert.deepEqual(actual[l].selected, golden.selected, `${layerLabel}: selected experts`);
    assertRows(actual[l].weights, golden.weights, tolerance.logits, `${layerLabel}: weights`);
    if (golden.router_logits) assertRows(actual[l].routerLogits, golden.router_logits, tolerance.routerLogits, `${layerLabel}: router logits`);
  });
}

describe('reference forward pass reproduces the golden cases', () => {
  for (const name of goldenCaseNames()) {
    it(`${name}: prefill, greedy steps, routing, steered runs`, () => {
      const { dir, config, expected } = loadGoldenCase(name);
      const weights = openCheckpointWeights(dir);
      const tolerance = TOLERANCE[expected.dtype];
      const prompt = expected.prompt_ids;

      assertRows(referenceForward(config, weights, prompt).logits, expected.prefill_logits, tolerance.logits, 'prefill logits');

      const runs: { label: string; run: GoldenRun; mask?: ExpertMask }[] = [
        { label: 'unsteered', run: expected },
        ...expected.steered.map((run) => ({ label: `${run.mode} ${run.force_weight}`, run, mask: goldenMask(run) })),
      ];
      for (const { label, run, mask } of runs) {
        const greedy = referenceGreedy(config, weights, prompt, run.generated_ids.length, mask);
        assert.deepEqual(greedy.generatedIds, run.generated_ids, `${label}: generated ids`);
        assertRows(greedy.stepLogits, run.step_logits, tolerance.logits, `${label}: step logits`);
        // The golden routing covers the prompt and every generated token (the sequence behind the last step logits).
        const full = referenceForward(config, weights, [...prompt, ...run.generated_ids], mask);
        assertRouting(full.routing, run.routing_full_sequence, tolerance, label);
      }
    });
  }
});

describe('reference forward pass on written tiny checkpoints', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-reference-'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  const ids = [5, 17, 33, 2, 48];

  for (const family of FAMILIES) {
    it(`${family}: logits per position, routing per MoE layer and token`, () => {
      const dir = path.join(root, family);
      const { config } = writeTinyCheckpoint(dir, { family, seed: 3 });
      const { logits, routing } = referenceForward(config, openCheckpointWeights(dir), ids);

      assert.equal(logits.length, ids.length);
      for (const row of logits) {
        assert.equal(row.length, 64);
        assert.ok(row.every(Number.isFinite));
      }
      assert.deepEqual(routing.map((r) => r.layer), family === 'qwen2_moe' ? [0, 2] : [0, 1, 2]);
      const normalised = family === 'mixtral' || family === 'qwen3_moe';
      for (const layer of routing) {
        assert.equal(layer.routerLogits.length, ids.length);
        layer.selected.forEach((selected, t) => {
          assert.equal(new Set(selected).size, 2, `distinct top-2 at token ${t}`);
          const sum = layer.weights[t].reduce((a, b) => a + b, 0);
          assert.ok(normalised ? Math.abs(sum - 1) < 1e-12 : sum < 1, `weights sum ${sum}`);
        });
      }
      const experts = new Set(routing.flatMap((r) => r.selected.flat()));
      assert.ok(experts.size >= 5, `routing is spread over ${experts.size} experts`);
    });
  }

  it('config overrides: sparse step, tied embeddings, clip_qkv; a sliding window it would need is refused', () => {
    const qwen = path.join(root, 'qwen2-sparse-step');
    const qwenConfig = writeTinyCheckpoint(qwen, {
      family: 'qwen2_moe',
      config: { num_hidden_layers: 4, decoder_sparse_step: 2, mlp_only_layers: [], tie_word_embeddings: true },
    }).config;
    const qwenWeights = openCheckpointWeights(qwen);
    assert.equal(qwenWeights.has('lm_head.weight'), false);
    assert.deepEqual(referenceForward(qwenConfig, qwenWeights, ids).routing.map((r) => r.layer), [1, 3]);

    const olmoe = path.join(root, 'olmoe-clip');
    const clipped = writeTinyCheckpoint(olmoe, { family: 'olmoe', config: { clip_qkv: 0.5 } }).config;
    const olmoeWeights = openCheckpointWeights(olmoe);
    const withClip = referenceForward(clipped, olmoeWeights, ids).logits;
    const withoutClip = referenceForward({ ...clipped, clip_qkv: null }, olmoeWeights, ids).logits;
    assert.ok(maxAbsDiff(withClip[4], [...withoutClip[4]]) > 1e-3, 'clip_qkv changes the output');

    const mixtral = path.join(root, 'mixtral-window');
    const windowed = writeTinyCheckpoint(mixtral, { family: 'mixtral', config: { sliding_window: 4 } }).config;
    assert.throws(() => referenceForward(windowed, openCheckpointWeights(mixtral), ids), /sliding window of 4/);
  });
});
