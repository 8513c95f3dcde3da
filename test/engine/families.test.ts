import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FAMILIES, writeTinyCheckpoint, type Family } from '../helpers/checkpoints.ts';
import { openCheckpointWeights } from '../helpers/checkpoint-weights.ts';
import { greedyWithCache, maxAbsDiff, openRunner } from '../helpers/engine-run.ts';
import { referenceForward, referenceGreedy } from '../reference/forward.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-families-'));
const PROMPT = [5, 17, 33, 2, 48, 61, 9, 26, 40, 13];
const STEPS = 8;

interface Variant {
  label: string;
  dtype?: 'F32' | 'BF16' | 'F16';
  shards?: number;
  config?: Record<string, unknown>;
}

const VARIANTS: Variant[] = [
  { label: 'f32' },
  { label: 'bf16', dtype: 'BF16' },
  { label: 'f16, 3 shards', dtype: 'F16', shards: 3 },
  { label: 'tied embeddings, yarn rope', config: { tie_word_embeddings: true, rope_scaling: { rope_type: 'yarn', factor: 4.0, original_max_position_embeddings: 64 } } },
  { label: 'llama3 rope, 16 experts k 4', config: { rope_scaling: { rope_type: 'llama3', factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 32 } } },
];

function expertConfig(family: Family, variant: Variant): Record<string, unknown> {
  if (!variant.label.includes('16 experts')) return variant.config ?? {};
  return { ...variant.config, [family === 'mixtral' ? 'num_local_experts' : 'num_experts']: 16, num_experts_per_tok: 4 };
}

describe('ONNX engine equals the plain-TypeScript reference forward pass', () => {
  for (const family of FAMILIES) {
    for (const variant of VARIANTS) {
      it(`${family} (${variant.label}): logits within 1e-4 and the same experts, prompt + ${STEPS} cached steps`, async () => {
        const dir = path.join(root, `${family}-${variant.label.replace(/\W+/g, '-')}`);
        const { config } = writeTinyCheckpoint(dir, { family, seed: 11, dtype: variant.dtype, shards: variant.shards, config: expertConfig(family, variant) });
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

describe('decoding through the KV cache equals recomputing the whole sequence', () => {
  for (const family of FAMILIES) {
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
