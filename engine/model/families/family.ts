import type { ConfigReader } from '../config-reader.ts';
import type { GlobalWeightNames, LayerWeightNames, ModelSpec, RouterSpec } from '../spec.ts';

/** Everything the engine knows about one architecture: config normalisation and tensor names. */
export interface FamilyDescriptor {
  name: string;
  modelTypes: string[];
  /** The router rule in words, shown by `mote inspect`. */
  routerRule: string;
  spec(config: ConfigReader): ModelSpec;
  globalWeights(spec: ModelSpec): GlobalWeightNames;
  layerWeights(spec: ModelSpec, layer: number): LayerWeightNames;
}

/** The plain softmax router; families with another rule override it. */
export const SOFTMAX_ROUTER: RouterSpec = { scoring: 'softmax', groups: null, scaling: 1, jitterEps: 0 };

/** Fields every supported family reads the same way from config.json, with the defaults of the plain families
 * (standard attention, RMSNorm, SiLU experts, softmax router); a family overrides what differs. */
export function commonSpec(c: ConfigReader): Omit<ModelSpec,
  'family' | 'numExperts' | 'topK' | 'normTopkProb' | 'moeIntermediateSize' | 'denseIntermediateSize' |
  'sharedExpertIntermediateSize' | 'sharedExpertGate' | 'moeLayers' | 'qkNorm' | 'attentionBias'> {
  const hiddenSize = c.int('hidden_size');
  const numHeads = c.int('num_attention_heads');
  const headDim = c.optionalInt('head_dim') ?? hiddenSize / numHeads;
  const maxPositions = c.int('max_position_embeddings');
  const slidingWindow = c.bool('use_sliding_window', true) ? c.optionalInt('sliding_window') : null;
  const numLayers = c.int('num_hidden_layers');
  return {
    modelType: String(c.raw['model_type']),
    vocabSize: c.int('vocab_size'),
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads: c.int('num_key_value_heads', numHeads),
    headDim,
    valueHeadDim: headDim,
    norm: 'rms',
    rmsNormEps: c.num('rms_norm_eps', 1e-6),
    rope: c.rope(headDim),
    attentionScale: 1 / Math.sqrt(headDim),
    mla: null,
    attentionSinks: false,
    layerWindows: new Array(numLayers).fill(null),
    multipliers: { embedding: 1, residual: 1, logits: 1 },
    router: SOFTMAX_ROUTER,
    expertActivation: { alpha: 1, beta: 0, limit: Infinity },
    expertStorage: 'float',
    // Families whose window applies to every layer set layerWindows (Mixtral, Phi-3.5-MoE, gpt-oss); for the others
    // (Qwen's use_sliding_window depends on max_window_layers and the transformers version) the context is capped at
    // the window, which keeps every answer exact.
    contextLength: slidingWindow ? Math.min(maxPositions, slidingWindow) : maxPositions,
    tieWordEmbeddings: c.bool('tie_word_embeddings', false),
    lmHeadBias: false,
    clipQkv: c.raw['clip_qkv'] == null ? null : c.num('clip_qkv'),
    bosTokenId: c.optionalInt('bos_token_id'),
    eosTokenIds: c.tokenIds('eos_token_id'),
  };
}

/** A sliding window on every layer (Mixtral, Phi-3.5-MoE): the model's full context, each layer windowed. */
export function everyLayerWindowed(c: ConfigReader, numLayers: number): Pick<ModelSpec, 'contextLength' | 'layerWindows'> {
  const window = c.optionalInt('sliding_window');
  return { contextLength: c.int('max_position_embeddings'), layerWindows: new Array(numLayers).fill(window) };
}

/** Every decoder layer routes to experts of one width; no dense MLPs and no shared experts (Mixtral-like). */
export function everyLayerMoe(c: ConfigReader, numLayers: number): Pick<ModelSpec,
  'moeIntermediateSize' | 'denseIntermediateSize' | 'sharedExpertIntermediateSize' | 'sharedExpertGate' | 'moeLayers'> {
  return {
    moeIntermediateSize: c.int('intermediate_size'),
    denseIntermediateSize: 0,
    sharedExpertIntermediateSize: 0,
    sharedExpertGate: false,
    moeLayers: new Array(numLayers).fill(true),
  };
}

/** HF's Qwen-MoE rule: a layer is sparse unless listed in mlp_only_layers or off the decoder_sparse_step grid. */
export function qwenMoeLayers(c: ConfigReader, numLayers: number, numExperts: number): boolean[] {
  const mlpOnly = new Set(c.intList('mlp_only_layers'));
  const step = c.int('decoder_sparse_step', 1);
  return Array.from({ length: numLayers }, (_, i) => !mlpOnly.has(i) && numExperts > 0 && step > 0 && (i + 1) % step === 0);
}

export function standardGlobals(spec: ModelSpec): GlobalWeightNames {
  return {
    embed: 'model.embed_tokens.weight',
    finalNorm: 'model.norm.weight',
    lmHead: spec.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight',
  };
}

export function attentionNames(layer: number): Pick<LayerWeightNames, 'inputNorm' | 'postAttentionNorm' | 'q' | 'k' | 'v' | 'o'> {
  const p = `model.layers.${layer}`;
  return {
    inputNorm: `${p}.input_layernorm.weight`,
    postAttentionNorm: `${p}.post_attention_layernorm.weight`,
    q: `${p}.self_attn.q_proj.weight`,
    k: `${p}.self_attn.k_proj.weight`,
    v: `${p}.self_attn.v_proj.weight`,
    o: `${p}.self_attn.o_proj.weight`,
  };
}

/** Experts stored as model.layers.{i}.mlp.experts.{e}.{gate,up,down}_proj.weight (Qwen, OLMoE, DeepSeek). */
export function mlpExpertNames(layer: number): Pick<LayerWeightNames, 'router' | 'experts'> {
  const p = `model.layers.${layer}.mlp`;
  return {
    router: `${p}.gate.weight`,
    experts: {
      layout: 'per-expert',
      gate: (e) => `${p}.experts.${e}.gate_proj.weight`,
      up: (e) => `${p}.experts.${e}.up_proj.weight`,
      down: (e) => `${p}.experts.${e}.down_proj.weight`,
    },
  };
}

export function denseMlpNames(layer: number): Pick<LayerWeightNames, 'denseGate' | 'denseUp' | 'denseDown'> {
  const p = `model.layers.${layer}.mlp`;
  return { denseGate: `${p}.gate_proj.weight`, denseUp: `${p}.up_proj.weight`, denseDown: `${p}.down_proj.weight` };
}
