/** A checkpoint's architecture, normalised from config.json by its family descriptor. */
export interface ModelSpec {
  family: string;
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  rope: RopeSpec;
  /** Longest sequence the model accepts (prompt + generated tokens). */
  contextLength: number;
  tieWordEmbeddings: boolean;
  attentionBias: boolean;
  /** 'head': RMSNorm over each head (Qwen3). 'projection': RMSNorm over the whole q/k projection (OLMoE). */
  qkNorm: 'none' | 'head' | 'projection';
  clipQkv: number | null;
  numExperts: number;
  topK: number;
  /** Renormalise the top-k softmax weights to sum to one. */
  normTopkProb: boolean;
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

export interface RopeSpec {
  theta: number;
  /** Rotary dimensions: the whole head in every supported family. */
  dim: number;
  scaling:
    | { type: 'default' }
    | { type: 'linear'; factor: number }
    | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number }
    | { type: 'yarn'; factor: number; originalMaxPositions: number; betaFast: number; betaSlow: number; attentionFactor: number | null; truncate: boolean };
}

/** Tensor names of one decoder layer, as the checkpoint stores them. */
export interface LayerWeightNames {
  inputNorm: string;
  postAttentionNorm: string;
  q: string;
  k: string;
  v: string;
  o: string;
  qBias?: string;
  kBias?: string;
  vBias?: string;
  qNorm?: string;
  kNorm?: string;
  router?: string;
  /** Per-expert projections ([out, in] each). */
  expertGate?(e: number): string;
  expertUp?(e: number): string;
  expertDown?(e: number): string;
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
  lmHead: string;
}

export function moeLayerIndices(spec: ModelSpec): number[] {
  return spec.moeLayers.flatMap((isMoe, i) => (isMoe ? [i] : []));
}
