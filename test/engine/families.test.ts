import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FAMILIES, NEXT_FAMILIES, writeTinyCheckpoint, type Family } from '../helpers/checkpoints.ts';
import type { ExpertMask } from '../../engine/steering/mask.ts';
import { openCheckpointWeights } from '../helpers/checkpoint-weights.ts';
import { greedyWithCache, maxAbsDiff, openRunner } from '../helpers/engine-run.ts';
import { referenceForward, referenceGreedy } from '../reference/forward.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-families-'));
const PROMPT = [5, 17, 33, 2, 48, 61, 9, 26, 40, 13];
const STEPS = 8;

const ALL_FAMILIES: Family[] = [...FAMILIES, ...NEXT_FAMILIES];

interface Variant {
  label: string;
  dtype?: 'F32' | 'BF16' | 'F16';
  shards?: number;
  config?: Record<string, unknown>;
  /** gpt-oss only: experts stored as MXFP4 blocks and scales. */
  mxfp4?: boolean;
}

const VARIANTS: Variant[] = [
  { label: 'f32' },
  { label: 'bf16', dtype: 'BF16' },
  { label: 'f16, 3 shards', dtype: 'F16', shards: 3 },
  { label: 'tied embeddings, yarn rope', config: { tie_word_embeddings: true, rope_scaling: { rope_type: 'yarn', factor: 4.0, original_max_position_embeddings: 64 } } },
  { label: 'llama3 rope, 16 experts k 4', config: { rope_scaling: { rope_type: 'llama3', factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 32 } } },
];

/** Family-specific variants besides the common ones. */
const FAMILY_VARIANTS: Partial<Record<Family, Variant[]>> = {
  deepseek_v3: [
    { label: 'no q_lora_rank, norm_topk_prob off, 4 groups keep 2', config: { q_lora_rank: null, norm_topk_prob: false, n_group: 4, topk_group: 2 } },
    { label: 'yarn with mscale_all_dim', config: { rope_scaling: { type: 'yarn', factor: 40, original_max_position_embeddings: 16, beta_fast: 32, beta_slow: 1, mscale: 1.0, mscale_all_dim: 1.0 } } },
  ],
  deepseek_v2: [
    { label: 'greedy, no q_lora_rank', config: { q_lora_rank: null, topk_method: 'greedy', n_group: 1, topk_group: 1, routed_scaling_factor: 1.5 } },
    { label: 'yarn with mscale_all_dim (no softmax mscale in HF V2)', config: { rope_scaling: { type: 'yarn', factor: 40, original_max_position_embeddings: 16, beta_fast: 32, beta_slow: 1, mscale: 0.707, mscale_all_dim: 0.707 } } },
  ],
  gpt_oss: [{ label: 'MXFP4 experts', mxfp4: true }],
};

const EXPERT_COUNT_KEY: Record<Family, string> = {
  mixtral: 'num_local_experts', qwen2_moe: 'num_experts', qwen3_moe: 'num_experts', olmoe: 'num_experts',
  deepseek_v3: 'n_routed_experts', deepseek_v2: 'n_routed_experts', gpt_oss: 'num_local_experts', granitemoe: 'num_local_experts', phimoe: 'num_local_experts',
};

function expertConfig(family: Family, variant: Variant): Record<string, unknown> {
  if (!variant.label.includes('16 experts')) return variant.config ?? {};
  return { ...variant.config, [EXPERT_COUNT_KEY[family]]: 16, num_experts_per_tok: 4 };
}

/** Two forced experts out of index order (mask order decides their slots), two off experts elsewhere. */
function steeringMask(moeLayers: number[], mode: ExpertMask['mode'], forceWeight: ExpertMask['forceWeight']): ExpertMask {
  return {
    mode, forceWeight,
    entries: [
      { layer: moeLayers[0], expert: 0, state: 'off' },
      { layer: moeLayers[0], expert: 3, state: 'off' },
      { layer: moeLayers[moeLayers.length - 1], expert: 5, state: 'forced' },
      { layer: moeLayers[moeLayers.length - 1], expert: 1, state: 'forced' },
    ],
  };
}

describe('ONNX engine equals the plain-TypeScript reference forward pass', () => {
  for (const family of ALL_FAMILIES) {
    for (const variant of [...VARIANTS, ...(FAMILY_VARIANTS[family] ?? [])]) {
      it(`${family} (${variant.label}): logits within 1e-4 and the same experts, prompt + ${STEPS} cached steps`, async () => {
        const dir = path.join(root, `${family}-${variant.label.replace(/\W+/g, '-')}`);
        const { config } = writeTinyCheckpoint(dir, {
          family, seed: 11, dtype: variant.dtype, shards: variant.shards, config: expertConfig(family, variant), mxfp4Experts: variant.mxfp4,
        });
        const weights = openCheckpointWeights(dir);
        const expected = referenceGreedy(config, weights, PROMPT, STEPS);
        const full = referenceForward(config, weights, [...PROMPT, ...expected.generatedIds.slice(0, -1)]);
        const runner = await openRunner(dir);
        try {
          const run = await greedyWithCache(runner, PROMPT, STEPS, runner.steering());
          assert.deepEqual(run.generated, expected.generatedIds, 'greedy tokens');
          expected.stepLogits.forEach((row, i) => {
            const diff = maxAbsDiff(run.stepLogits[i], row);
            assert.ok(diff < 1e-4, `step ${i}: logits differ by ${diff}`);
          });
          assert.equal(run.routing.length, full.routing.length, 'MoE layers');
          full.routing.forEach((layer, l) => {
            layer.selected.forEach((sel, t) => {
              assert.deepEqual(run.routing[l][t].selected, sel, `layer ${layer.layer} token ${t}: experts`);
              assert.ok(maxAbsDiff(run.routing[l][t].weights, layer.weights[t]) < 1e-5, `layer ${layer.layer} token ${t}: weights`);
              assert.ok(maxAbsDiff(run.routing[l][t].routerLogits, layer.routerLogits[t]) < 1e-4, `layer ${layer.layer} token ${t}: router logits`);
            });
          });
        } finally {
          await runner.dispose();
        }
      });
    }
  }
});

describe('steered runs equal the reference under the same mask', () => {
  for (const family of ALL_FAMILIES) {
    for (const mode of ['backfill', 'drop'] as const) {
      for (const forceWeight of ['natural', 'max'] as const) {
        it(`${family}, ${mode}, ${forceWeight}: greedy tokens, logits and routing`, async () => {
          const dir = path.join(root, `${family}-steered-${mode}-${forceWeight}`);
          const { config } = writeTinyCheckpoint(dir, { family, seed: 23, config: { [EXPERT_COUNT_KEY[family]]: 8, num_experts_per_tok: 2 } });
          const weights = openCheckpointWeights(dir);
          const runner = await openRunner(dir);
          try {
            const mask = steeringMask(runner.moeLayers, mode, forceWeight);
            const expected = referenceGreedy(config, weights, PROMPT, STEPS, mask);
            const full = referenceForward(config, weights, [...PROMPT, ...expected.generatedIds.slice(0, -1)], mask);
            const run = await greedyWithCache(runner, PROMPT, STEPS, runner.steering(mask));
            assert.deepEqual(run.generated, expected.generatedIds, 'greedy tokens');
            expected.stepLogits.forEach((row, i) => assert.ok(maxAbsDiff(run.stepLogits[i], row) < 1e-4, `step ${i} logits`));
            full.routing.forEach((layer, l) => {
              layer.selected.forEach((sel, t) => {
                const got = run.routing[l][t];
                assert.deepEqual(got.selected, sel, `layer ${layer.layer} token ${t}: experts`);
                assert.ok(maxAbsDiff(got.weights, layer.weights[t]) < 1e-5, `layer ${layer.layer} token ${t}: weights`);
              });
            });
          } finally {
            await runner.dispose();
          }
        });
      }
    }
  }
});

describe('decoding through the KV cache equals recomputing the whole sequence', () => {
  for (const family of ALL_FAMILIES) {
    it(`${family}: cached step logits and routing equal one full prefill`, async () => {
      const dir = path.join(root, `${family}-kv`);
      writeTinyCheckpoint(dir, { family, seed: 5 });
      const runner = await openRunner(dir);
      try {
        const cached = await greedyWithCache(runner, PROMPT, STEPS, runner.steering());
        const sequence = [...PROMPT, ...cached.generated];
        const { result } = await runner.step(runner.emptyCache(), sequence, runner.steering(), sequence.length);
        const V = runner.spec.vocabSize;
        cached.stepLogits.forEach((row, i) => {
          const position = PROMPT.length - 1 + i;
          const diff = maxAbsDiff(row, result.logits.subarray(position * V, (position + 1) * V));
          assert.ok(diff < 1e-5, `step ${i}: cached vs full logits differ by ${diff}`);
        });
        const k = runner.spec.topK;
        const routing = result.routing!;
        runner.moeLayers.forEach((_, l) => {
          cached.routing[l].forEach((tok, t) => {
            const at = (l * routing.tokens + t) * k;
            assert.deepEqual(tok.selected, Array.from(routing.selected.subarray(at, at + k)), `MoE layer ${l} token ${t}`);
          });
        });
      } finally {
        await runner.dispose();
      }
    });
  }
});
