import { ropeFromConfig, type Rope } from './rope.ts';

export const FAMILIES = ['mixtral', 'qwen2_moe', 'qwen3_moe', 'olmoe'] as const;
export type Family = (typeof FAMILIES)[number];

/** What the reference needs from a raw HF config.json, with the HF config classes' defaults applied. */
export interface ReferenceConfig {
  family: Family;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  rope: Rope;
  /** none; per-head (Qwen3: norm of size headDim on each head); whole-projection (OLMoE: q and k as a whole). */
  qkNorm: 'none' | 'per-head' | 'whole-projection';
  /** OLMoE's clamp of q, k and v after the norms; null when off. */
  clipQkv: number | null;
  numExperts: number;
  topK: number;
  /** Renormalise the selected experts' softmax scores to sum 1 (Mixtral always does). */
  normalizeTopK: boolean;
  /** Qwen2-MoE: a shared expert added with weight sigmoid(shared_expert_gate · x). */
  hasSharedExpert: boolean;
  /** Decoder-layer indices with a sparse MoE block, ascending; the other layers have a dense MLP. */
  moeLayers: number[];
  expertIntermediate: number;
  /** Width of the dense MLP layers (Qwen's intermediate_size). */
  denseIntermediate: number;
  sharedExpertIntermediate: number;
  tieWordEmbeddings: boolean;
  /** Attention window when one applies (Mixtral's sliding_window; Qwen's when use_sliding_window), else null. */
  slidingWindow: number | null;
}

export function parseReferenceConfig(config: Record<string, unknown>): ReferenceConfig {
  const family = config.model_type as Family;
  if (!FAMILIES.includes(family)) throw new Error(`model_type ${String(config.model_type)} is not a reference family`);
  const num = (key: string) => requiredNumber(config, key);
  const hiddenSize = num('hidden_size');
  const numHeads = num('num_attention_heads');
  const numLayers = num('num_hidden_layers');
  const headDim = (config.head_dim as number | null | undefined) ?? hiddenSize / numHeads;
  const isQwen = family === 'qwen2_moe' || family === 'qwen3_moe';
  const mlpOnlyLayers = (config.mlp_only_layers as number[] | undefined) ?? [];
  const sparseStep = (config.decoder_sparse_step as number | undefined) ?? 1;
  const isMoeLayer = (layer: number) => !isQwen || (!mlpOnlyLayers.includes(layer) && (layer + 1) % sparseStep === 0);
  return {
    family,
    vocabSize: num('vocab_size'),
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads: (config.num_key_value_heads as number | undefined) ?? numHeads,
    headDim,
    rmsNormEps: num('rms_norm_eps'),
    rope: ropeFromConfig(config, headDim),
    qkNorm: family === 'qwen3_moe' ? 'per-head' : family === 'olmoe' ? 'whole-projection' : 'none',
    clipQkv: family === 'olmoe' ? ((config.clip_qkv as number | null | undefined) ?? null) : null,
    numExperts: num(family === 'mixtral' ? 'num_local_experts' : 'num_experts'),
    topK: num('num_experts_per_tok'),
    normalizeTopK: family === 'mixtral' || config.norm_topk_prob === true,
    hasSharedExpert: family === 'qwen2_moe',
    moeLayers: Array.from({ length: numLayers }, (_, layer) => layer).filter(isMoeLayer),
    expertIntermediate: num(isQwen ? 'moe_intermediate_size' : 'intermediate_size'),
    denseIntermediate: num('intermediate_size'),
    sharedExpertIntermediate: family === 'qwen2_moe' ? num('shared_expert_intermediate_size') : 0,
    tieWordEmbeddings: config.tie_word_embeddings === true,
    slidingWindow: family === 'mixtral' || (isQwen && config.use_sliding_window === true)
      ? ((config.sliding_window as number | null | undefined) ?? null)
      : null,
  };
}

function requiredNumber(config: Record<string, unknown>, key: string): number {
  const value = config[key];
  if (typeof value !== 'number') throw new Error(`config.json: ${key} must be a number (got ${JSON.stringify(value)})`);
  return value;
}
