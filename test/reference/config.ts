import { ropeFromConfig, type Rope, type RopeLayout } from './rope.ts';
import type { RouterRule } from './routing.ts';

/** The families of the first golden set (/work/shared/golden). */
export const FAMILIES = ['mixtral', 'qwen2_moe', 'qwen3_moe', 'olmoe'] as const;
/** The families of the second golden set (/work/shared/golden-next). */
export const NEXT_FAMILIES = ['deepseek_v3', 'deepseek_v2', 'gpt_oss', 'granitemoe', 'phimoe'] as const;
export type Family = (typeof FAMILIES)[number] | (typeof NEXT_FAMILIES)[number];

const ALL_FAMILIES: readonly Family[] = [...FAMILIES, ...NEXT_FAMILIES];

/** Multi-head attention with grouped KV heads: every family but DeepSeek. */
export interface HeadAttention {
  kind: 'heads';
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** none; per-head (Qwen3: norm of size headDim on each head); whole-projection (OLMoE: q and k as a whole). */
  qkNorm: 'none' | 'per-head' | 'whole-projection';
  /** OLMoE's clamp of q, k and v after the norms; null when off. */
  clipQkv: number | null;
  /** gpt-oss: a learned logit per head joins every softmax and is dropped after it. */
  sinks: boolean;
}

/** DeepSeek's multi-head latent attention: low-rank q (optional) and kv; rope on its own part of q and k. */
export interface LatentAttention {
  kind: 'latent';
  numHeads: number;
  /** null: q_proj straight from the hidden state (DeepSeek-V2-Lite). */
  qLoraRank: number | null;
  kvLoraRank: number;
  /** Per head, q and k are [nopeDim | ropeDim]; the rope part of k is one vector shared by all heads. */
  nopeDim: number;
  ropeDim: number;
  valueDim: number;
}

/** What the reference needs from a raw HF config.json, with the HF config classes' defaults applied. */
export interface ReferenceConfig {
  family: Family;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  /** RMSNorm, or LayerNorm with weight and bias (PhiMoE); eps is rms_norm_eps either way. */
  norm: 'rms' | 'layer';
  normEps: number;
  attention: HeadAttention | LatentAttention;
  /** Factor on q·k before the softmax. */
  attentionScale: number;
  /** Frequencies over headDim, or over the rope part for latent attention. */
  rope: Rope;
  ropeLayout: RopeLayout;
  /** Per decoder layer: a query at i sees the keys j with i − j < window, or every earlier key (null). */
  attentionWindows: (number | null)[];
  /** Granite: embeddings × embeddingMultiplier, attention and MLP outputs × residualMultiplier, logits ÷ logitsScaling. */
  embeddingMultiplier: number;
  residualMultiplier: number;
  logitsScaling: number;
  numExperts: number;
  topK: number;
  router: RouterRule;
  /** Expert weights as one Linear module per projection, or stacked [E, …] tensors (gpt-oss, Granite). */
  expertLayout: 'modules' | 'gpt-oss' | 'granite';
  /** Experts every token runs besides the routed ones: none, Qwen2's sigmoid-gated one, DeepSeek's plain ones. */
  sharedExperts: 'none' | 'gated' | 'plain';
  sharedExpertIntermediate: number;
  /** Decoder-layer indices with a sparse MoE block, ascending; the other layers have a dense MLP. */
  moeLayers: number[];
  expertIntermediate: number;
  /** Width of the dense MLP layers (Qwen's and DeepSeek's intermediate_size). */
  denseIntermediate: number;
  tieWordEmbeddings: boolean;
}

type Raw = Record<string, unknown>;

export function parseReferenceConfig(config: Raw): ReferenceConfig {
  const family = config.model_type as Family;
  if (!ALL_FAMILIES.includes(family)) throw new Error(`model_type ${String(config.model_type)} is not a reference family`);
  switch (family) {
    case 'mixtral':
    case 'qwen2_moe':
    case 'qwen3_moe':
    case 'olmoe':
      return firstSetConfig(family, config);
    case 'deepseek_v3':
    case 'deepseek_v2':
      return deepseekConfig(family, config);
    case 'gpt_oss':
      return gptOssConfig(config);
    case 'granitemoe':
      return graniteConfig(config);
    case 'phimoe':
      return phimoeConfig(config);
  }
}

/** The fields whose defaults every family shares: plain embeddings, residuals and logits, RMSNorm. */
function commonConfig(family: Family, config: Raw) {
  const numLayers = requiredNumber(config, 'num_hidden_layers');
  return {
    family,
    vocabSize: requiredNumber(config, 'vocab_size'),
    hiddenSize: requiredNumber(config, 'hidden_size'),
    numLayers,
    norm: 'rms' as const,
    normEps: requiredNumber(config, 'rms_norm_eps'),
    ropeLayout: 'half' as const,
    attentionWindows: Array<number | null>(numLayers).fill(null),
    embeddingMultiplier: 1,
    residualMultiplier: 1,
    logitsScaling: 1,
    topK: requiredNumber(config, 'num_experts_per_tok'),
    expertLayout: 'modules' as const,
    sharedExperts: 'none' as const,
    sharedExpertIntermediate: 0,
    moeLayers: Array.from({ length: numLayers }, (_, layer) => layer),
    tieWordEmbeddings: config.tie_word_embeddings === true,
  };
}

function headAttentionConfig(config: Raw, overrides: Partial<HeadAttention> = {}): HeadAttention {
  const numHeads = requiredNumber(config, 'num_attention_heads');
  return {
    kind: 'heads',
    numHeads,
    numKvHeads: (config.num_key_value_heads as number | undefined) ?? numHeads,
    headDim: (config.head_dim as number | null | undefined) ?? requiredNumber(config, 'hidden_size') / numHeads,
    qkNorm: 'none',
    clipQkv: null,
    sinks: false,
    ...overrides,
  };
}

function firstSetConfig(family: (typeof FAMILIES)[number], config: Raw): ReferenceConfig {
  const common = commonConfig(family, config);
  const isQwen = family === 'qwen2_moe' || family === 'qwen3_moe';
  if (isQwen && config.use_sliding_window === true) {
    // Which Qwen layers slide depends on max_window_layers and on the transformers version and attention backend.
    throw new Error('use_sliding_window is not modelled by the reference');
  }
  const mlpOnlyLayers = (config.mlp_only_layers as number[] | undefined) ?? [];
  const sparseStep = (config.decoder_sparse_step as number | undefined) ?? 1;
  const isMoeLayer = (layer: number) => !isQwen || (!mlpOnlyLayers.includes(layer) && (layer + 1) % sparseStep === 0);
  const attention = headAttentionConfig(config, {
    qkNorm: family === 'qwen3_moe' ? 'per-head' : family === 'olmoe' ? 'whole-projection' : 'none',
    clipQkv: family === 'olmoe' ? ((config.clip_qkv as number | null | undefined) ?? null) : null,
  });
  const window = family === 'mixtral' ? ((config.sliding_window as number | null | undefined) ?? null) : null;
  return {
    ...common,
    attention,
    attentionScale: 1 / Math.sqrt(attention.headDim),
    rope: ropeFromConfig(config, attention.headDim),
    attentionWindows: common.attentionWindows.map(() => window),
    numExperts: requiredNumber(config, family === 'mixtral' ? 'num_local_experts' : 'num_experts'),
    router: { kind: 'softmax-top-k', normalize: family === 'mixtral' || config.norm_topk_prob === true },
    sharedExperts: family === 'qwen2_moe' ? 'gated' : 'none',
    sharedExpertIntermediate: family === 'qwen2_moe' ? requiredNumber(config, 'shared_expert_intermediate_size') : 0,
    moeLayers: common.moeLayers.filter(isMoeLayer),
    expertIntermediate: requiredNumber(config, isQwen ? 'moe_intermediate_size' : 'intermediate_size'),
    denseIntermediate: requiredNumber(config, 'intermediate_size'),
  };
}

/** DeepSeek-V2 and -V3 (HF DeepseekV2Moe / DeepseekV3TopkRouter): MLA, dense first layers, shared experts. */
function deepseekConfig(family: 'deepseek_v3' | 'deepseek_v2', config: Raw): ReferenceConfig {
  const common = commonConfig(family, config);
  const attention: LatentAttention = {
    kind: 'latent',
    numHeads: requiredNumber(config, 'num_attention_heads'),
    qLoraRank: (config.q_lora_rank as number | null | undefined) ?? null,
    kvLoraRank: requiredNumber(config, 'kv_lora_rank'),
    nopeDim: requiredNumber(config, 'qk_nope_head_dim'),
    ropeDim: requiredNumber(config, 'qk_rope_head_dim'),
    valueDim: requiredNumber(config, 'v_head_dim'),
  };
  const numExperts = requiredNumber(config, 'n_routed_experts');
  const groups = { count: (config.n_group as number | null | undefined) ?? 1, kept: (config.topk_group as number | null | undefined) ?? 1 };
  if (numExperts % groups.count !== 0) throw new Error(`n_routed_experts ${numExperts} is not a multiple of n_group ${groups.count}`);
  const scaling = (config.routed_scaling_factor as number | undefined) ?? 1;
  let router: RouterRule;
  if (family === 'deepseek_v3') {
    // HF's V3 router ignores topk_method and scoring_func: always sigmoid, noaux_tc.
    router = { kind: 'deepseek-v3', groups, normalize: config.norm_topk_prob === true, scaling };
  } else {
    const method = (config.topk_method as string | undefined) ?? 'greedy';
    if (method !== 'greedy' && method !== 'group_limited_greedy') throw new Error(`DeepSeek-V2 topk_method ${method} is not in HF`);
    router = { kind: 'deepseek-v2', groups: method === 'group_limited_greedy' ? groups : null, scaling };
  }
  const firstMoeLayer = (config.first_k_dense_replace as number | undefined) ?? 0;
  const sharedCount = (config.n_shared_experts as number | null | undefined) ?? 0;
  const expertIntermediate = requiredNumber(config, 'moe_intermediate_size');
  const interleaved = family === 'deepseek_v2' || config.rope_interleave !== false;
  return {
    ...common,
    attention,
    attentionScale: latentAttentionScale(family, config, attention),
    rope: ropeFromConfig(config, attention.ropeDim),
    ropeLayout: interleaved ? 'pairs' : 'half',
    numExperts,
    router,
    sharedExperts: sharedCount > 0 ? 'plain' : 'none',
    sharedExpertIntermediate: expertIntermediate * sharedCount,
    moeLayers: common.moeLayers.filter((layer) => layer >= firstMoeLayer),
    expertIntermediate,
    denseIntermediate: requiredNumber(config, 'intermediate_size'),
  };
}

/**
 * qk_head_dim^-0.5; HF's DeepSeek-V3 also multiplies by yarn's mscale(factor, mscale_all_dim)² when rope_scaling
 * states mscale_all_dim. HF's DeepSeek-V2 does not (DeepSeek's own V2 code did).
 */
function latentAttentionScale(family: Family, config: Raw, attention: LatentAttention): number {
  const base = 1 / Math.sqrt(attention.nopeDim + attention.ropeDim);
  const scaling = config.rope_scaling as Record<string, number> | null | undefined;
  if (family !== 'deepseek_v3' || !scaling?.mscale_all_dim) return base;
  const factor = Number(scaling.factor);
  const mscale = factor <= 1 ? 1 : 0.1 * scaling.mscale_all_dim * Math.log(factor) + 1;
  return base * mscale * mscale;
}

/** gpt-oss (HF GptOss*): sinks, alternating sliding / full attention, biases, softmax over the top-k logits. */
function gptOssConfig(config: Raw): ReferenceConfig {
  const common = commonConfig('gpt_oss', config);
  const attention = headAttentionConfig(config, { sinks: true });
  // GptOssConfig's default layer_types: sliding on even layers, full on odd ones.
  const layerTypes = (config.layer_types as string[] | undefined) ??
    common.attentionWindows.map((_, layer) => (layer % 2 === 0 ? 'sliding_attention' : 'full_attention'));
  const window = (config.sliding_window as number | null | undefined) ?? null;
  return {
    ...common,
    attention,
    attentionScale: 1 / Math.sqrt(attention.headDim),
    rope: ropeFromConfig(config, attention.headDim),
    attentionWindows: layerTypes.map((type) => (type === 'sliding_attention' ? window : null)),
    numExperts: requiredNumber(config, 'num_local_experts'),
    router: { kind: 'top-k-softmax' },
    expertLayout: 'gpt-oss',
    expertIntermediate: requiredNumber(config, 'intermediate_size'),
    denseIntermediate: 0,
  };
}

/** Granite-MoE (HF GraniteMoe*): multipliers, softmax over the top-k logits, fused [E, 2I, H] experts. */
function graniteConfig(config: Raw): ReferenceConfig {
  const common = commonConfig('granitemoe', config);
  const attention = headAttentionConfig(config);
  return {
    ...common,
    attention,
    attentionScale: requiredNumber(config, 'attention_multiplier'),
    rope: ropeFromConfig(config, attention.headDim),
    embeddingMultiplier: requiredNumber(config, 'embedding_multiplier'),
    residualMultiplier: requiredNumber(config, 'residual_multiplier'),
    logitsScaling: requiredNumber(config, 'logits_scaling'),
    numExperts: requiredNumber(config, 'num_local_experts'),
    router: { kind: 'top-k-softmax' },
    expertLayout: 'granite',
    expertIntermediate: requiredNumber(config, 'intermediate_size'),
    denseIntermediate: 0,
  };
}

/** Phi-3.5-MoE (HF Phimoe*): LayerNorm, biases, sparsemixer routing, LongRoPE. */
function phimoeConfig(config: Raw): ReferenceConfig {
  const common = commonConfig('phimoe', config);
  const attention = headAttentionConfig(config);
  const window = (config.sliding_window as number | null | undefined) ?? null;
  return {
    ...common,
    norm: 'layer',
    attention,
    attentionScale: 1 / Math.sqrt(attention.headDim),
    rope: ropeFromConfig(config, attention.headDim),
    attentionWindows: common.attentionWindows.map(() => window),
    numExperts: requiredNumber(config, 'num_local_experts'),
    router: { kind: 'sparsemixer', jitterEps: requiredNumber(config, 'router_jitter_noise') },
    expertIntermediate: requiredNumber(config, 'intermediate_size'),
    denseIntermediate: 0,
  };
}

function requiredNumber(config: Raw, key: string): number {
  const value = config[key];
  if (typeof value !== 'number') throw new Error(`config.json: ${key} must be a number (got ${JSON.stringify(value)})`);
  return value;
}
