import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { ExpertMask } from '../../engine/steering/mask.ts';
import { FAMILIES, NEXT_FAMILIES, writeTinyCheckpoint, type Family } from '../helpers/checkpoints.ts';
import { openCheckpointWeights } from '../helpers/checkpoint-weights.ts';
import { goldenCaseNames, goldenMask, loadGoldenCase, type GoldenExpected, type GoldenRouting, type GoldenRun } from '../helpers/golden.ts';
import { referenceForward, referenceGreedy, type ReferenceRouting } from './forward.ts';

/**
 * BF16 weights widen exactly, and the golden values agree with this float64 reference to ~1e-14; so do gpt-oss's
 * MXFP4 experts, which decode exactly to the -bf16 case's values (everything else in that case is BF16). The F32
 * cases' expected values were evidently computed from weights that differ from the stored float32 values by float32
 * rounding: multiplying every stored weight by (1 + u·2^-24), u uniform in [-1, 1], moves this reference's outputs
 * by the same amounts as the differences measured against the files. First set: worst 8.5e-7 for logits and 1.2e-6
 * for router logits.
 */
const TOLERANCE: Record<string, Tolerance> = {
  BF16: { logits: 1e-12, routerLogits: 1e-12 },
  MXFP4: { logits: 1e-12, routerLogits: 1e-12 },
  F32: { logits: 1e-6, routerLogits: 2e-6 },
};

/**
 * F32 cases whose families amplify that rounding more (worst differences measured against the files / moved by the
 * perturbation above, over prefill, step logits and routing of all three runs): DeepSeek's chain of low-rank
 * projections and norms — V3 logits 2.8e-6 / 4.0e-6, router logits 2.1e-6 / 5.8e-6; V2 logits 5.6e-6 / 3.3e-6,
 * router logits 4.4e-6 / 8.2e-6, mixing weights 1.1e-6 / 1.3e-6 (routed_scaling_factor 2); Granite's router sees the
 * residual stream of ×12 embeddings, router logits 2.1e-6 / 3.0e-6; PhiMoE logits 1.05e-6 / 1.4e-6.
 */
const F32_FAMILY_TOLERANCE: Record<string, Tolerance> = {
  deepseek_v3: { logits: 5e-6, routerLogits: 1e-5 },
  deepseek_v2: { logits: 1e-5, routerLogits: 1e-5 },
  granitemoe: { logits: 1e-6, routerLogits: 5e-6 },
  phimoe: { logits: 2e-6, routerLogits: 2e-6 },
};

/** Mixing weights are held to the logits tolerance. */
interface Tolerance {
  logits: number;
  routerLogits: number;
}

function toleranceOf(expected: GoldenExpected): Tolerance {
  return (expected.dtype === 'F32' ? F32_FAMILY_TOLERANCE[expected.family] : undefined) ?? TOLERANCE[expected.dtype];
}

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

function assertRouting(actual: ReferenceRouting[], expected: GoldenRouting[], tolerance: Tolerance, label: string) {
  assert.deepEqual(actual.map((r) => r.layer), expected.map((r) => r.layer), `${label}: MoE layers`);
  expected.forEach((golden, l) => {
    const layerLabel = `${label} layer ${golden.layer}`;
    assert.deepEqual(actual[l].selected, golden.selected, `${layerLabel}: selected experts`);
    assertRows(actual[l].weights, golden.weights, tolerance.logits, `${layerLabel}: weights`);
    if (golden.router_logits) assertRows(actual[l].routerLogits, golden.router_logits, tolerance.routerLogits, `${layerLabel}: router logits`);
  });
}

const GOLDEN_CASES = goldenCaseNames();

describe('reference forward pass reproduces the golden cases', () => {
  for (const name of GOLDEN_CASES) {
    it(`${name}: prefill, greedy steps, routing, steered runs`, () => {
      const { dir, config, expected } = loadGoldenCase(name);
      const weights = openCheckpointWeights(dir);
      const tolerance = toleranceOf(expected);
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
  const ids = [5, 17, 33, 2, 48, 61, 9, 26, 40, 13];

  /** What the tiny defaults' mixing weights of one token sum to: 1 when renormalised, the scaling factor, … */
  const WEIGHT_SUM: Record<Family, (sum: number) => boolean> = {
    mixtral: (sum) => Math.abs(sum - 1) < 1e-12,
    qwen3_moe: (sum) => Math.abs(sum - 1) < 1e-12,
    gpt_oss: (sum) => Math.abs(sum - 1) < 1e-12,
    granitemoe: (sum) => Math.abs(sum - 1) < 1e-12,
    qwen2_moe: (sum) => sum < 1,
    olmoe: (sum) => sum < 1,
    deepseek_v3: (sum) => Math.abs(sum - 1.5) < 1e-12, // norm_topk_prob, routed_scaling_factor 1.5
    deepseek_v2: (sum) => sum < 1.5, // softmax mass × routed_scaling_factor 1.5
    phimoe: (sum) => sum > 0 && sum <= 2, // one sparsemixer softmax per slot
  };
  const MOE_LAYERS: Partial<Record<Family, number[]>> = { qwen2_moe: [0, 2], deepseek_v3: [1, 2], deepseek_v2: [1, 2] };

  for (const family of [...FAMILIES, ...NEXT_FAMILIES]) {
    it(`${family}: logits per position, routing per MoE layer and token`, () => {
      const dir = path.join(root, family);
      const { config } = writeTinyCheckpoint(dir, { family, seed: 3 });
      const { logits, routing } = referenceForward(config, openCheckpointWeights(dir), ids);

      assert.equal(logits.length, ids.length);
      for (const row of logits) {
        assert.equal(row.length, 64);
        assert.ok(row.every(Number.isFinite));
      }
      assert.deepEqual(routing.map((r) => r.layer), MOE_LAYERS[family] ?? [0, 1, 2]);
      for (const layer of routing) {
        assert.equal(layer.routerLogits.length, ids.length);
        layer.selected.forEach((selected, t) => {
          assert.equal(new Set(selected).size, 2, `distinct top-2 at token ${t}`);
          const sum = layer.weights[t].reduce((a, b) => a + b, 0);
          assert.ok(WEIGHT_SUM[family](sum), `weights sum ${sum}`);
        });
      }
      const experts = new Set(routing.flatMap((r) => r.selected.flat()));
      assert.ok(experts.size >= 5, `routing is spread over ${experts.size} experts`);
    });
  }

  it('config overrides: sparse step, tied embeddings, clip_qkv; Qwen\'s use_sliding_window is refused', () => {
    const qwen = path.join(root, 'qwen2-sparse-step');
    const qwenConfig = writeTinyCheckpoint(qwen, {
      family: 'qwen2_moe',
      config: { num_hidden_layers: 4, decoder_sparse_step: 2, mlp_only_layers: [], tie_word_embeddings: true },
    }).config;
    const qwenWeights = openCheckpointWeights(qwen);
    assert.equal(qwenWeights.has('lm_head.weight'), false);
    assert.deepEqual(referenceForward(qwenConfig, qwenWeights, ids).routing.map((r) => r.layer), [1, 3]);
    const windowed = { ...qwenConfig, use_sliding_window: true, sliding_window: 4 };
    assert.throws(() => referenceForward(windowed, qwenWeights, ids), /use_sliding_window is not modelled/);

    const olmoe = path.join(root, 'olmoe-clip');
    const clipped = writeTinyCheckpoint(olmoe, { family: 'olmoe', config: { clip_qkv: 0.5 } }).config;
    const olmoeWeights = openCheckpointWeights(olmoe);
    const withClip = referenceForward(clipped, olmoeWeights, ids).logits;
    const withoutClip = referenceForward({ ...clipped, clip_qkv: null }, olmoeWeights, ids).logits;
    assert.ok(maxAbsDiff(withClip[4], [...withoutClip[4]]) > 1e-3, 'clip_qkv changes the output');
  });

  it('sliding windows: a query sees the last `window` positions (Mixtral on every layer, gpt-oss per layer_types)', () => {
    for (const [family, window] of [['mixtral', 4], ['gpt_oss', 6]] as const) {
      const dir = path.join(root, `${family}-window`);
      const windowed = writeTinyCheckpoint(dir, { family, config: { sliding_window: window } }).config;
      const weights = openCheckpointWeights(dir);
      const withWindow = referenceForward(windowed, weights, ids).logits;
      const withoutWindow = referenceForward({ ...windowed, sliding_window: null }, weights, ids).logits;
      withWindow.forEach((row, t) => {
        const diff = maxAbsDiff(row, [...withoutWindow[t]]);
        assert.ok(t < window ? diff === 0 : diff > 1e-6, `${family} position ${t}: differs by ${diff}`);
      });
    }
    const gptOss = path.join(root, 'gpt_oss-window');
    const config = JSON.parse(fs.readFileSync(path.join(gptOss, 'config.json'), 'utf8'));
    const allFull = referenceForward({ ...config, layer_types: ['full_attention', 'full_attention', 'full_attention'] }, openCheckpointWeights(gptOss), ids);
    const noWindow = referenceForward({ ...config, sliding_window: null }, openCheckpointWeights(gptOss), ids);
    assert.deepEqual(allFull.logits, noWindow.logits);
  });

  it('gpt-oss experts stored as MXFP4 blocks and scales give the model of the dense checkpoint of the same seed', () => {
    const dense = path.join(root, 'gpt_oss-bf16');
    const packed = path.join(root, 'gpt_oss-mxfp4');
    const { config } = writeTinyCheckpoint(dense, { family: 'gpt_oss', seed: 8, dtype: 'BF16' });
    const packedConfig = writeTinyCheckpoint(packed, { family: 'gpt_oss', seed: 8, dtype: 'BF16', mxfp4Experts: true }).config;
    const packedWeights = openCheckpointWeights(packed);
    assert.equal(packedWeights.has('model.layers.0.mlp.experts.gate_up_proj'), false);
    assert.deepEqual(packedWeights.shape('model.layers.0.mlp.experts.gate_up_proj_blocks'), [8, 64, 1, 16]);
    assert.deepEqual(packedWeights.shape('model.layers.0.mlp.experts.down_proj_scales'), [8, 32, 1]);
    assert.equal((packedConfig.quantization_config as { quant_method: string }).quant_method, 'mxfp4');
    const expected = referenceForward(config, openCheckpointWeights(dense), ids);
    const actual = referenceForward(packedConfig, packedWeights, ids);
    assert.deepEqual(actual.logits, expected.logits);
    assert.deepEqual(actual.routing, expected.routing);
  });

  it('DeepSeek-V3 without q_lora_rank projects q straight from the hidden state', () => {
    const dir = path.join(root, 'deepseek_v3-noq');
    const { config } = writeTinyCheckpoint(dir, { family: 'deepseek_v3', config: { q_lora_rank: null } });
    const weights = openCheckpointWeights(dir);
    assert.deepEqual(weights.shape('model.layers.0.self_attn.q_proj.weight'), [4 * 12, 32]);
    assert.equal(weights.has('model.layers.0.self_attn.q_a_proj.weight'), false);
    assert.ok(referenceForward(config, weights, ids).logits.every((row) => row.every(Number.isFinite)));
  });
});
