/** A checkpoint's architecture, normalised from config.json by its family descriptor. */
export interface ModelSpec {
  family: string;
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  /** Width of each query/key head (MLA: nope + rope part). */
  headDim: number;
  /** Width of each value head: headDim except in MLA. */
  valueHeadDim: number;
  /** 'rms': RMSNorm with a weight; 'layer': LayerNorm with weight and bias (Phi-3.5-MoE). Both use rmsNormEps. */
  norm: 'rms' | 'layer';
  rmsNormEps: number;
  rope: RopeSpec;
  /** Softmax scale of attention scores (1/√headDim unless the family says otherwise). */
  attentionScale: number;
  /** Multi-head latent attention (DeepSeek-V2/V3); the KV cache holds the expanded per-head keys and values. */
  mla: MlaSpec | null;
  /** gpt-oss: a learned per-head logit joins each softmax and is dropped after it. */
  attentionSinks: boolean;
  /** One entry per decoder layer: the sliding attention window (a query sees keys i − j < window), or null. */
  layerWindows: (number | null)[];
  /** Granite-MoE: embeddings ×embedding, attention and MLP outputs ×residual, logits ÷logits. All 1 elsewhere. */
  multipliers: { embedding: number; residual: number; logits: number };
  /** Longest sequence the model accepts (prompt + generated tokens). */
  contextLength: number;
  tieWordEmbeddings: boolean;
  /** Phi-3.5-MoE's LM head has a bias. */
  lmHeadBias: boolean;
  attentionBias: boolean;
  /** 'head': RMSNorm over each head (Qwen3). 'projection': RMSNorm over the whole q/k projection (OLMoE). */
  qkNorm: 'none' | 'head' | 'projection';
  clipQkv: number | null;
  numExperts: number;
  topK: number;
  /** Renormalise the selected experts' scores to sum to one. */
  normTopkProb: boolean;
  router: RouterSpec;
  /** How the checkpoint stores routed experts: float tensors, or gpt-oss's MXFP4 blocks (widened at build). */
  expertStorage: 'float' | 'mxfp4';
  /** The experts' clamped SwiGLU: gate·σ(alpha·gate)·(up + beta), gate ≤ limit, |up| ≤ limit (SiLU: 1, 0, ∞). */
  expertActivation: { alpha: number; beta: number; limit: number };
  moeIntermediateSize: number;
  /** Dense MLP width for layers without experts (0 when every layer is MoE). */
  denseIntermediateSize: number;
  /** Width of the always-on shared expert (0 when none); gated by sigmoid(shared_expert_gate·x) when sharedExpertGate. */
  sharedExpertIntermediateSize: number;
  sharedExpertGate: boolean;
  /** One entry per decoder layer: true when it has routed experts. */
  moeLayers: boolean[];
  bosTokenId: number | null;
  eosTokenIds: number[];
}

/** DeepSeek's multi-head latent attention. Queries: q_proj, or q_a_proj → RMSNorm → q_b_proj when qLoraRank. */
export interface MlaSpec {
  qLoraRank: number | null;
  kvLoraRank: number;
  qkNopeHeadDim: number;
  qkRopeHeadDim: number;
}

/**
 * How router logits z become the selected experts and their weights (DESIGN §4, engine/model/onnx/routing.ts):
 * - softmax: p = softmax(z); select the top-k p (within the kept groups); w = p, renormalised iff normTopkProb;
 * - sigmoid: s = σ(z); select on s + e_score_correction_bias (within the kept groups); w = s, same renormalisation;
 * - sparsemixer: Phi-3.5-MoE's slot-by-slot argmax with a masked softmax per slot (jitterEps);
 * then w × scaling. groups: experts in `count` contiguous groups, the best `keep` groups by `score` are kept.
 */
export interface RouterSpec {
  scoring: 'softmax' | 'sigmoid' | 'sparsemixer';
  groups: { count: number; keep: number; score: 'max' | 'top2-sum' } | null;
  scaling: number;
  jitterEps: number;
}

export interface RopeSpec {
  theta: number;
  /** Rotary dimensions: the whole head, or MLA's rope part (the last dims of each query/key head). */
  dim: number;
  /** Rotate pairs (2i, 2i+1) as DeepSeek does, instead of halves (i, i + dim/2). */
  interleaved: boolean;
  scaling:
    | { type: 'default' }
    | { type: 'linear'; factor: number }
    | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number }
    | { type: 'yarn'; factor: number; originalMaxPositions: number; betaFast: number; betaSlow: number; attentionFactor: number | null; truncate: boolean;
      /** DeepSeek: cos/sin × m(mscale)/m(mscaleAllDim), m(x) = 0.1·x·ln(factor) + 1. */
      mscale: number | null; mscaleAllDim: number | null }
    /** Phi-3.5: per-dimension frequency divisors, short ones while the sequence fits originalMaxPositions. */
    | { type: 'longrope'; shortFactor: number[]; longFactor: number[]; shortMscale: number; longMscale: number; originalMaxPositions: number };
}

/**
 * Where a layer's routed experts are stored:
 * - per-expert: one [out, in] tensor per expert and projection (Mixtral, Qwen, OLMoE, DeepSeek, Phi-3.5);
 * - gpt-oss: gate_up [E, H, 2I] with gate/up columns interleaved + bias [E, 2I], down [E, I, H] + bias [E, H]; or
 *   MXFP4 (`<name>_blocks`, `<name>_scales` in the [E, out, in] orientation) when `mxfp4`;
 * - granite: input_linear [E, 2I, H] (gate rows, then up rows), output_linear [E, H, I].
 */
export type ExpertTensors =
  | { layout: 'per-expert'; gate(e: number): string; up(e: number): string; down(e: number): string }
  | { layout: 'gpt-oss'; gateUp: string; gateUpBias: string; down: string; downBias: string; mxfp4: boolean }
  | { layout: 'granite'; inputLinear: string; outputLinear: string };

/** MLA projections of one layer. */
export interface MlaWeightNames {
  /** q_proj when qLoraRank is null, else q_a_proj, q_a_layernorm, q_b_proj. */
  q?: string;
  qA?: string;
  qANorm?: string;
  qB?: string;
  kvA: string;
  kvANorm: string;
  kvB: string;
}

/** Tensor names of one decoder layer, as the checkpoint stores them. */
export interface LayerWeightNames {
  inputNorm: string;
  postAttentionNorm: string;
  /** LayerNorm biases (norm 'layer'). */
  inputNormBias?: string;
  postAttentionNormBias?: string;
  /** Standard attention (absent with MLA). */
  q?: string;
  k?: string;
  v?: string;
  o: string;
  mla?: MlaWeightNames;
  qBias?: string;
  kBias?: string;
  vBias?: string;
  oBias?: string;
  sinks?: string;
  qNorm?: string;
  kNorm?: string;
  router?: string;
  routerBias?: string;
  /** DeepSeek-V3's e_score_correction_bias: added to the scores for selection only. */
  scoreCorrectionBias?: string;
  experts?: ExpertTensors;
  sharedGate?: string;
  sharedUp?: string;
  sharedDown?: string;
  sharedExpertGate?: string;
  denseGate?: string;
  denseUp?: string;
  denseDown?: string;
}

export interface GlobalWeightNames {
  embed: string;
  finalNorm: string;
  finalNormBias?: string;
  lmHead: string;
  lmHeadBias?: string;
}

/** Whether the router rule needs selection and weights computed in the graph (the MoE op's own softmax → top-k
 * covers only plain softmax routing; the host then restates it from the router logits). */
export function routesInGraph(spec: Pick<ModelSpec, 'router'>): boolean {
  return spec.router.scoring !== 'softmax' || spec.router.groups !== null;
}

export function moeLayerIndices(spec: ModelSpec): number[] {
  return spec.moeLayers.flatMap((isMoe, i) => (isMoe ? [i] : []));
}
