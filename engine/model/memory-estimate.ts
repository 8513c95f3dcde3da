import { QUANT_BLOCK } from './onnx/quantize.ts';
import { AUTO_PRECISIONS, PRECISION_PLANS, quantBlock, type MatrixFormat, type Precision, type PrecisionPlan, type WeightFormat } from './precision.ts';
import type { ModelSpec } from './spec.ts';

/**
 * Resident memory of a model running on onnxruntime's CPU provider at a weight precision: weights as the session
 * holds them, the KV cache, and a workspace term. For `--precision auto`: choosePrecision() picks the widest
 * precision whose estimate fits the memory available.
 */

/** Bytes per weight of data plus float32 block scales (one per QUANT_BLOCK weights). */
const STORED: Record<WeightFormat, number> = { f32: 4, f16: 2, int8: 1 + 4 / QUANT_BLOCK, int4: 0.5 + 4 / QUANT_BLOCK };
const SCALES = 4 / QUANT_BLOCK;

/** Resident bytes per weight: `shared` by every session of the process, `perSession` held by each one. */
export interface Residency {
  shared: number;
  perSession: number;
}

/**
 * Resident bytes per weight as onnxruntime 1.30's CPU kernels hold them once every weight has been used. External
 * data is memory-mapped: what a kernel reads in place is file pages, shared by all sessions over the same file.
 * What a kernel prepacks at session creation is private memory of that session (onnxruntime-node has no shared
 * prepacked-weights container), and the packed original is released. Measured with bench/quantized-layer.ts
 * (RSS added by a session, less ~25 MiB of session overhead):
 * - MoE op f32, QMoE int8: read in place (4; 1 + 0.125 scales). No prepacking.
 * - QMoE int4: prepacked into an unpacked transposed copy (1 byte a weight) plus, for the MLAS Q4 path, MLAS blobs
 *   (0.625); the scales stay mapped (0.125): 1.75 in all — more than int8. int4 experts are a speed choice on this
 *   runtime (3 ms instead of 10 ms a layer and token), not a memory one.
 * - Gemm f32: prepacked (4). MatMulNBits with accuracy_level 4: prepacked data, scales and block sums, measured
 *   1.53 (int8) and 1.0 (int4) in all; taken as the mapped scales plus the rest per session.
 * - Embedding tables: read in place, as stored.
 */
export const RESIDENCY: {
  experts: Record<MatrixFormat, Residency>;
  matmul: Record<MatrixFormat, Residency>;
  table: Record<WeightFormat, Residency>;
} = {
  experts: {
    f32: { shared: 4, perSession: 0 },
    int8: { shared: STORED.int8, perSession: 0 },
    int4: { shared: SCALES, perSession: 1 + 0.625 },
  },
  matmul: {
    f32: { shared: 0, perSession: 4 },
    int8: { shared: SCALES, perSession: 1.53 - SCALES },
    int4: { shared: SCALES, perSession: 1 - SCALES },
  },
  table: {
    f32: { shared: STORED.f32, perSession: 0 },
    f16: { shared: STORED.f16, perSession: 0 },
    int8: { shared: STORED.int8, perSession: 0 },
    int4: { shared: STORED.int4, perSession: 0 },
  },
};

/** The spec fields the estimate reads (so that it holds for any family that fills them). */
export type MemorySpec = Pick<ModelSpec,
  'vocabSize' | 'hiddenSize' | 'numLayers' | 'numHeads' | 'numKvHeads' | 'headDim' | 'valueHeadDim' | 'mla' | 'norm'
  | 'tieWordEmbeddings' | 'attentionBias' | 'qkNorm' | 'numExperts' | 'topK' | 'moeIntermediateSize'
  | 'denseIntermediateSize' | 'sharedExpertIntermediateSize' | 'sharedExpertGate' | 'moeLayers'>;

export type WeightClass = 'experts' | 'dense' | 'router' | 'embed' | 'lmHead' | 'norms';

export interface MemoryOptions {
  /** Intra-op threads: the MoE kernels allocate per-thread buffers. Default 2. */
  threads?: number;
  /**
   * Tokens in the largest step. The runner prefills a whole prompt in one step, so a long prompt needs more than
   * this (attention scores grow with it × context). Default min(context, 512).
   */
  stepTokens?: number;
}

export interface MemoryEstimate {
  precision: Precision;
  plan: PrecisionPlan;
  context: number;
  params: Record<WeightClass, number>;
  /** Resident bytes per class, prepacked copies included (the engine runs one session per model). */
  weights: Record<WeightClass, number> & { total: number };
  /** K and V, float32, every layer, `context` positions. */
  kvCache: number;
  workspace: Workspace;
  total: number;
}

/**
 * Memory beyond weights and the KV cache, at the largest step (T = stepTokens, S = context):
 * - runtime: node, onnxruntime and the engine before any session (85 MiB measured) plus tokenizer, host and
 *   allocator slack: a fixed 256 MiB;
 * - kvStep: one more KV cache — each step's present = Concat(past, new) is a new tensor while the past is alive;
 * - attention: scores and probabilities of one layer, heads × T × S × 4 bytes each;
 * - moe: the MoE kernels' per-call buffers, per thread: one expert dequantised or unpacked (fc1 + fc2 as float32)
 *   and its tokens through fc1, the activation and fc2, plus a [T, H] output per thread;
 * - activations: the widest projection outputs of one layer and the residual stream, ~[T, 16·H] float32;
 * - logits: one position's [vocab] float32 (the graph returns the last position's logits at prefill).
 */
export interface Workspace {
  runtime: number;
  kvStep: number;
  attention: number;
  moe: number;
  activations: number;
  logits: number;
  total: number;
}

const RUNTIME_BYTES = 256 * 2 ** 20;
const DEFAULT_STEP_TOKENS = 512;

interface Matrix {
  cls: WeightClass;
  rows: number;
  cols: number;
  count: number;
}

/** Every weight of the graph as [rows, cols] matrices (vectors as one row), with how many of each. */
function matrices(spec: MemorySpec): Matrix[] {
  const H = spec.hiddenSize;
  const D = spec.headDim;
  const Dv = spec.valueHeadDim;
  const heads = spec.numHeads;
  const kv = spec.numKvHeads;
  const moe = spec.moeLayers.filter(Boolean).length;
  const dense = spec.numLayers - moe;
  const L = spec.numLayers;
  const out: Matrix[] = [];
  const add = (cls: WeightClass, rows: number, cols: number, count: number) => {
    if (rows > 0 && cols > 0 && count > 0) out.push({ cls, rows, cols, count });
  };
  const normWidth = spec.norm === 'layer' ? 2 : 1; // LayerNorm: weight and bias

  add('embed', spec.vocabSize, H, 1);
  if (!spec.tieWordEmbeddings) add('lmHead', spec.vocabSize, H, 1);
  add('norms', 1, H * normWidth, 1 + 2 * L);

  if (spec.mla) {
    const m = spec.mla;
    if (m.qLoraRank) {
      add('dense', m.qLoraRank, H, L);
      add('norms', 1, m.qLoraRank, L);
      add('dense', heads * D, m.qLoraRank, L);
    } else {
      add('dense', heads * D, H, L);
    }
    add('dense', m.kvLoraRank + m.qkRopeHeadDim, H, L);
    add('norms', 1, m.kvLoraRank, L);
    add('dense', heads * (m.qkNopeHeadDim + Dv), m.kvLoraRank, L);
  } else {
    add('dense', heads * D, H, L);
    add('dense', kv * D, H, 2 * L);
    if (spec.attentionBias) add('norms', 1, heads * D + 2 * kv * D, L);
    if (spec.qkNorm === 'head') add('norms', 1, 2 * D, L);
    if (spec.qkNorm === 'projection') add('norms', 1, heads * D + kv * D, L);
  }
  add('dense', H, heads * Dv, L);

  add('router', spec.numExperts, H, moe);
  add('experts', 2 * spec.moeIntermediateSize, H, moe * spec.numExperts);
  add('experts', H, spec.moeIntermediateSize, moe * spec.numExperts);
  const S = spec.sharedExpertIntermediateSize;
  add('dense', 2 * S, H, moe);
  add('dense', H, S, moe);
  if (S > 0 && spec.sharedExpertGate) add('router', 1, H, moe);
  add('dense', 2 * spec.denseIntermediateSize, H, dense);
  add('dense', H, spec.denseIntermediateSize, dense);
  return out;
}

/**
 * Where one matrix's weights live. Experts go to QMoE only when both of a layer's matrices are quantisable (H and I
 * multiples of the block); other matrices each by their own input dimension.
 */
function residency(m: Matrix, plan: PrecisionPlan, spec: MemorySpec): Residency {
  const own = quantBlock(m.cols) !== null;
  switch (m.cls) {
    case 'experts':
      return RESIDENCY.experts[quantBlock(spec.hiddenSize, spec.moeIntermediateSize) !== null ? plan.experts : 'f32'];
    case 'dense':
      return RESIDENCY.matmul[own ? plan.dense : 'f32'];
    case 'lmHead':
      return RESIDENCY.matmul[own ? plan.lmHead : 'f32'];
    case 'embed': {
      if (spec.tieWordEmbeddings) {
        // One initializer feeds the lookup and the head: the head's kernel prepacks it, and the lookup still reads
        // the original, so onnxruntime keeps both.
        const format = own ? plan.lmHead : 'f32';
        const table = RESIDENCY.table[format];
        const head = RESIDENCY.matmul[format];
        return { shared: Math.max(table.shared, head.shared), perSession: head.perSession };
      }
      return RESIDENCY.table[!own && (plan.embed === 'int8' || plan.embed === 'int4') ? 'f32' : plan.embed];
    }
    case 'router':
      return RESIDENCY.matmul.f32; // a float32 Gemm
    case 'norms':
      return RESIDENCY.table.f32; // read in place
  }
}

export function estimateMemory(spec: MemorySpec, precision: Precision, context: number, options: MemoryOptions = {}): MemoryEstimate {
  if (!(context > 0)) throw new Error(`context must be a positive number of tokens, got ${context}`);
  const plan = PRECISION_PLANS[precision];
  const classes: WeightClass[] = ['experts', 'dense', 'router', 'embed', 'lmHead', 'norms'];
  const params = Object.fromEntries(classes.map((c) => [c, 0])) as Record<WeightClass, number>;
  const weights = { ...params, total: 0 };
  for (const m of matrices(spec)) {
    const n = m.rows * m.cols * m.count;
    const r = residency(m, plan, spec);
    params[m.cls] += n;
    weights[m.cls] += n * (r.shared + r.perSession);
  }
  for (const c of classes) weights[c] = Math.round(weights[c]);
  weights.total = classes.reduce((a, c) => a + weights[c], 0);

  const kvCache = spec.numLayers * spec.numKvHeads * (spec.headDim + spec.valueHeadDim) * context * 4;
  const T = Math.min(context, options.stepTokens ?? DEFAULT_STEP_TOKENS);
  const threads = options.threads ?? 2;
  const H = spec.hiddenSize;
  const I = spec.moeIntermediateSize;
  const hasMoe = spec.moeLayers.some(Boolean);
  const workspace: Workspace = {
    runtime: RUNTIME_BYTES,
    kvStep: kvCache,
    attention: 2 * spec.numHeads * T * context * 4,
    moe: hasMoe ? threads * (3 * H * I + T * (2 * H + 3 * I) + T * H) * 4 : 0,
    activations: 16 * T * H * 4,
    logits: spec.vocabSize * 4,
    total: 0,
  };
  workspace.total = workspace.runtime + workspace.kvStep + workspace.attention + workspace.moe + workspace.activations + workspace.logits;
  return { precision, plan, context, params, weights, kvCache, workspace, total: weights.total + kvCache + workspace.total };
}

export interface PrecisionChoice {
  /** The widest precision that fits, or null when none does. */
  precision: Precision | null;
  /** Every precision's estimate, widest first (stops at the chosen one). */
  estimates: MemoryEstimate[];
  /** One line for the user: what was chosen and why, or why nothing fits, with the numbers. */
  reason: string;
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;

/** Picks the widest of f32 > int8 > int4 whose estimate fits in `availableBytes` at this context length. */
export function choosePrecision(spec: MemorySpec, availableBytes: number, context: number, options: MemoryOptions = {}): PrecisionChoice {
  const estimates: MemoryEstimate[] = [];
  for (const precision of AUTO_PRECISIONS) {
    const estimate = estimateMemory(spec, precision, context, options);
    estimates.push(estimate);
    if (estimate.total <= availableBytes) {
      const wider = estimates.slice(0, -1).map((e) => `${e.precision} needs ${gib(e.total)}`);
      return {
        precision,
        estimates,
        reason: `${precision}: needs ${gib(estimate.total)} of ${gib(availableBytes)} available at a context of ${context} tokens` +
          (wider.length ? ` (${wider.join(', ')})` : ''),
      };
    }
  }
  const smallest = estimates.reduce((a, b) => (b.total < a.total ? b : a));
  return {
    precision: null,
    estimates,
    reason: `no precision fits in ${gib(availableBytes)} at a context of ${context} tokens: ` +
      `${estimates.map((e) => `${e.precision} needs ${gib(e.total)} (weights ${gib(e.weights.total)}, KV cache ${gib(e.kvCache)}, workspace ${gib(e.workspace.total)})`).join('; ')}` +
      `; the smallest, ${smallest.precision}, is ${gib(smallest.total - availableBytes)} short`,
  };
}
