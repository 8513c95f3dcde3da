/**
 * The random checkpoints the benchmarks write, in one place: the OLMoE-shaped benchmark checkpoint (bench/engine.ts,
 * bench/peer.ts; 4 layers by default) and the real configurations of issue 9 item 5 (bench/real-size.ts). All are
 * written by the test helper that writes HF-layout checkpoints (streamed, a chunk at a time), in BF16 to halve disk.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeTinyCheckpoint, type Family } from '../test/helpers/checkpoints.ts';

export interface BenchCheckpoint {
  family: Family;
  /** config.json keys merged over the writer's family defaults. */
  config: Record<string, unknown>;
  seed: number;
}

/** The benchmark shape of DESIGN §4: OLMoE-1B-7B's layer, `layers` of them (4 by default). */
export function olmoeShaped(layers = 4): BenchCheckpoint {
  return { family: 'olmoe', seed: 3, config: { ...OLMOE_1B_7B, num_hidden_layers: layers } };
}

/** allenai/OLMoE-1B-7B-0924's config.json values that set shapes and arithmetic. */
const OLMOE_1B_7B: Record<string, unknown> = {
  hidden_size: 2048, num_attention_heads: 16, num_key_value_heads: 16,
  num_experts: 64, num_experts_per_tok: 8, intermediate_size: 1024, norm_topk_prob: false,
  num_hidden_layers: 16, vocab_size: 50304, max_position_embeddings: 4096, rope_theta: 10000, rms_norm_eps: 1e-5,
  clip_qkv: null, tie_word_embeddings: false,
};

/** Qwen/Qwen3-30B-A3B's config.json values that set shapes and arithmetic (48 layers in the release). */
const QWEN3_30B_A3B: Record<string, unknown> = {
  hidden_size: 2048, num_attention_heads: 32, num_key_value_heads: 4, head_dim: 128,
  num_experts: 128, num_experts_per_tok: 8, moe_intermediate_size: 768, intermediate_size: 6144, norm_topk_prob: true,
  decoder_sparse_step: 1, mlp_only_layers: [], num_hidden_layers: 48, vocab_size: 151936,
  max_position_embeddings: 40960, rope_theta: 1000000, rms_norm_eps: 1e-6, tie_word_embeddings: false,
};

export interface RealConfig {
  name: string;
  checkpoint: BenchCheckpoint;
  /** Layers of the released model; more than the checkpoint's when only a subset is written. */
  realLayers: number;
}

/** Issue 9 item 5: OLMoE-1B-7B whole; Qwen3-30B-A3B as `qwenLayers` of its 48 layers (per-layer figures extrapolate). */
export function realConfigs(qwenLayers = 8): RealConfig[] {
  return [
    { name: 'OLMoE-1B-7B-0924', realLayers: 16, checkpoint: { family: 'olmoe', seed: 5, config: { ...OLMOE_1B_7B } } },
    {
      name: 'Qwen3-30B-A3B', realLayers: 48,
      checkpoint: { family: 'qwen3_moe', seed: 7, config: { ...QWEN3_30B_A3B, num_hidden_layers: qwenLayers } },
    },
  ];
}

/**
 * Writes the checkpoint into `dir` unless a complete one is there (config.json is written last). Returns the
 * seconds spent writing (0 when reused).
 */
export function ensureCheckpoint(dir: string, checkpoint: BenchCheckpoint): number {
  if (fs.existsSync(path.join(dir, 'config.json'))) return 0;
  const t0 = performance.now();
  writeTinyCheckpoint(dir, { family: checkpoint.family, seed: checkpoint.seed, dtype: 'BF16', config: checkpoint.config });
  return (performance.now() - t0) / 1000;
}

/** Bytes of the files in a folder (not recursive). */
export function folderBytes(dir: string): number {
  return fs.readdirSync(dir).reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
}
