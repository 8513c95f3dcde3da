import type { WeightSource } from '../weights.ts';
import { moeLayerIndices, routesInGraph, type GlobalWeightNames, type LayerWeightNames, type ModelSpec } from '../spec.ts';
import type { FamilyDescriptor } from '../families/family.ts';
import { BIG, type BuildContext } from './build-context.ts';
import { bf16Weights, bitsOf, PRECISION_PLANS, quantBlock, type MatrixFormat, type Precision, type PrecisionPlan } from '../precision.ts';
import { checkShape, expertMatrices } from './expert-weights.ts';
import { ExternalWeights, GraphBuilder, float, type FileDigest } from './graph.ts';
import { float16Table, gatherFloat16, gatherQuantized, matMulNBits, qmoe, quantizedExperts, quantizedWeight } from './quantize.ts';
import { ropeParameters } from './rope.ts';
import { routeInGraph, type LayerSteering } from './routing.ts';

/**
 * The graphs built from one checkpoint at one precision; they share one weights file.
 * - instrumented: what the engine runs. Steering inputs and routing outputs; when the steering is not active, the
 *   MoE layers of plain softmax routers take the MoE op's own top-k (an If per layer skips the steering ops), and
 *   the runner derives the selection from the router logits on the host. One session over this graph serves
 *   unsteered and steered steps, so the weights are held once.
 * - plain: the model as it is, no routing outputs, for benchmarks to compare against.
 */
export const GRAPH_VARIANTS = ['instrumented', 'plain'] as const;
export type GraphVariant = (typeof GRAPH_VARIANTS)[number];

/**
 * The graph's interface, batch size one. T = new tokens this step, P = cached tokens, S = P + T, L = MoE layers.
 * inputs:  input_ids int64 [T]; position_ids int64 [T]; logits_from int64 [1] (first position whose logits are
 *          returned); past_key_{i} float [kv_heads, P, head_dim], past_value_{i} float [kv_heads, P, value_head_dim] per
 *          decoder layer (MLA: heads, with the expanded keys and values);
 *          instrumented only (engine/steering/steering-tensors.ts): steering_active bool [] (false: the mask changes
 *          nothing), expert_bias float [L, E], expert_dropped bool [L, E], expert_max_weight bool [L, E].
 * outputs: logits float [T - logits_from, vocab]; present_key_{i}, present_value_{i} as the past ones with S tokens;
 *          instrumented only: router_logits float [L·T, E]; selected_experts int64 [L·T, k] (-1 = slot dropped) and
 *          routing_weights float [L·T, k] (each selected expert's mixing weight, 0 if dropped) when steering is
 *          active or the router is routesInGraph(spec), else [0, k]; each laid out as [L, T, …].
 */
export const GRAPH_IO = {
  inputIds: 'input_ids',
  positionIds: 'position_ids',
  logitsFrom: 'logits_from',
  pastKey: (i: number) => `past_key_${i}`,
  pastValue: (i: number) => `past_value_${i}`,
  presentKey: (i: number) => `present_key_${i}`,
  presentValue: (i: number) => `present_value_${i}`,
  steeringActive: 'steering_active',
  expertBias: 'expert_bias',
  expertDropped: 'expert_dropped',
  expertMaxWeight: 'expert_max_weight',
  logits: 'logits',
  routerLogits: 'router_logits',
  selectedExperts: 'selected_experts',
  routingWeights: 'routing_weights',
} as const;

interface Ctx extends BuildContext {
  variant: GraphVariant;
  plan: PrecisionPlan;
  cos: string;
  sin: string;
  /** Attention masks [T, S] by sliding window (null = causal only), built on first use. */
  masks: Map<number | null, string>;
  /** Shape [1] int64: this step's token count and the cached length. */
  stepTokens: string;
  pastTokens: string;
}

function load(ctx: Ctx, name: string, expected: number[]): string {
  checkShape(ctx.weights, name, expected);
  return ctx.g.weight(name, expected, () => [ctx.weights.read(name)]);
}

/** RMSNorm, or LayerNorm with a bias when the family uses it (norm 'layer'). */
function norm(ctx: Ctx, x: string, weight: string, bias?: string, eps = ctx.spec.rmsNormEps): string {
  const { g, spec } = ctx;
  const dim = ctx.weights.shape(weight);
  const scale = load(ctx, weight, dim);
  if (spec.norm === 'layer') {
    return g.op1('LayerNormalization', [x, scale, load(ctx, bias!, dim)], { axis: -1, epsilon: float(eps) });
  }
  const meanSquare = g.op1('ReduceMean', [g.op1('Mul', [x, x]), ctx.ints([-1])], { keepdims: 1 });
  const rms = g.op1('Sqrt', [g.op1('Add', [meanSquare, ctx.scalar(eps)])]);
  return g.op1('Mul', [g.op1('Div', [x, rms]), scale]);
}

/** x · Wᵀ (+ b) with W stored [out, in] as in the checkpoint. */
function linear(ctx: Ctx, x: string, weight: string, bias?: string): string {
  return ctx.g.op1('Gemm', bias ? [x, weight, bias] : [x, weight], { transB: 1 });
}

/**
 * A projection loaded from the checkpoint ([out, in] weight, optional [out] bias) at a storage format: float32
 * through Gemm, or block-quantised through MatMulNBits when its input width allows (else float32).
 */
function project(ctx: Ctx, x: string, weight: string, outDim: number, inDim: number, bias?: string,
  format: MatrixFormat = ctx.plan.dense): string {
  const b = bias ? load(ctx, bias, [outDim]) : undefined;
  const block = quantBlock(inDim);
  if (format === 'f32' || block === null) return linear(ctx, x, load(ctx, weight, [outDim, inDim]), b);
  checkShape(ctx.weights, weight, [outDim, inDim]);
  const w = quantizedWeight(ctx.g, weight, outDim, inDim, () => [ctx.weights.read(weight)], bitsOf(format), block);
  return matMulNBits(ctx.g, x, w, { bias: b });
}

function swigluMlp(ctx: Ctx, x: string, gate: string, up: string, down: string, width: number): string {
  const { g } = ctx;
  const H = ctx.spec.hiddenSize;
  const gx = project(ctx, x, gate, width, H);
  const act = g.op1('Mul', [g.op1('Mul', [gx, g.op1('Sigmoid', [gx])]), project(ctx, x, up, width, H)]);
  return project(ctx, act, down, H, width);
}

/**
 * x [T, heads, rope dim]: rotate-half RoPE. Interleaved families (DeepSeek) rotate pairs (2i, 2i+1); their rope
 * dims are first regrouped as evens then odds, which turns pair rotation into half rotation. Queries and keys are
 * regrouped alike, so their dot products, all that attention uses, are those of the pair rotation.
 */
function applyRope(ctx: Ctx, x: string): string {
  const { g, spec } = ctx;
  const dim = spec.rope.dim;
  const half = dim / 2;
  if (spec.rope.interleaved) {
    const order = [...Array.from({ length: half }, (_, i) => 2 * i), ...Array.from({ length: half }, (_, i) => 2 * i + 1)];
    x = g.op1('Gather', [x, ctx.ints(order)], { axis: -1 });
  }
  const x1 = g.op1('Slice', [x, ctx.ints([0]), ctx.ints([half]), ctx.ints([-1])]);
  const x2 = g.op1('Slice', [x, ctx.ints([half]), ctx.ints([dim]), ctx.ints([-1])]);
  const rotated = g.op1('Concat', [g.op1('Neg', [x2]), x1], { axis: -1 });
  return g.op1('Add', [g.op1('Mul', [x, ctx.cos]), g.op1('Mul', [rotated, ctx.sin])]);
}

/** Slice [from, to) of the last axis. */
function lastAxis(ctx: Ctx, x: string, from: number, to: number): string {
  return ctx.g.op1('Slice', [x, ctx.ints([from]), ctx.ints([to]), ctx.ints([-1])]);
}

/** Additive mask [T, S]: query t (absolute position P + t) sees keys j ≤ P + t, and within the window if any. */
function attentionMask(ctx: Ctx, window: number | null): string {
  const known = ctx.masks.get(window);
  if (known) return known;
  const { g } = ctx;
  const zero = g.constInt([0], []);
  const one = g.constInt([1], []);
  const total = g.op1('Add', [ctx.stepTokens, ctx.pastTokens]);
  const rows = g.op1('Add', [g.op1('Unsqueeze', [g.op1('Range', [zero, g.op1('Squeeze', [ctx.stepTokens]), one]), ctx.ints([1])]), ctx.pastTokens]);
  const cols = g.op1('Unsqueeze', [g.op1('Range', [zero, g.op1('Squeeze', [total]), one]), ctx.ints([0])]);
  let hidden = g.op1('Greater', [cols, rows]);
  if (window !== null) hidden = g.op1('Or', [hidden, g.op1('GreaterOrEqual', [g.op1('Sub', [rows, cols]), g.constInt([window], [])])]);
  const mask = g.op1('Where', [hidden, ctx.scalar(-BIG), ctx.scalar(0)]);
  ctx.masks.set(window, mask);
  return mask;
}

/** Queries [T, heads, D], keys [T, kv_heads, D] and values [T, kv_heads, Dv] of one layer, RoPE applied. */
interface Projected {
  q: string;
  k: string;
  v: string;
}

function standardProjections(ctx: Ctx, x: string, names: LayerWeightNames): Projected {
  const { g, spec } = ctx;
  const H = spec.hiddenSize;
  const D = spec.headDim;
  const qDim = spec.numHeads * D;
  const kvDim = spec.numKvHeads * D;
  let q = project(ctx, x, names.q!, qDim, H, names.qBias);
  let k = project(ctx, x, names.k!, kvDim, H, names.kBias);
  let v = project(ctx, x, names.v!, kvDim, H, names.vBias);
  if (spec.qkNorm === 'projection') {
    q = norm(ctx, q, names.qNorm!);
    k = norm(ctx, k, names.kNorm!);
  }
  if (spec.clipQkv !== null) {
    const lo = ctx.scalar(-spec.clipQkv);
    const hi = ctx.scalar(spec.clipQkv);
    [q, k, v] = [q, k, v].map((t) => g.op1('Clip', [t, lo, hi]));
  }
  q = g.op1('Reshape', [q, ctx.ints([-1, spec.numHeads, D])]);
  k = g.op1('Reshape', [k, ctx.ints([-1, spec.numKvHeads, D])]);
  v = g.op1('Reshape', [v, ctx.ints([-1, spec.numKvHeads, D])]);
  if (spec.qkNorm === 'head') {
    q = norm(ctx, q, names.qNorm!);
    k = norm(ctx, k, names.kNorm!);
  }
  return { q: applyRope(ctx, q), k: applyRope(ctx, k), v };
}

/**
 * DeepSeek's multi-head latent attention, expanded to per-head keys and values: keys = [k_nope | k_rope] with one
 * roped k_rope shared by every head, queries = [q_nope | q_rope]. The cache holds the expanded keys and values
 * (not the latent): each step then costs what standard attention costs, at the price of a larger cache.
 */
function mlaProjections(ctx: Ctx, x: string, names: LayerWeightNames): Projected {
  const { g, spec } = ctx;
  const mla = spec.mla!;
  const m = names.mla!;
  // HF builds q_a_layernorm and kv_a_layernorm with the RMSNorm class default, not rms_norm_eps.
  const latentNorm = (x: string, weight: string) => norm(ctx, x, weight, undefined, 1e-6);
  const H = spec.hiddenSize;
  const heads = spec.numHeads;
  const nope = mla.qkNopeHeadDim;
  const rope = mla.qkRopeHeadDim;
  const Dv = spec.valueHeadDim;
  const qRows = heads * (nope + rope);
  const q = mla.qLoraRank === null
    ? project(ctx, x, m.q!, qRows, H)
    : project(ctx, latentNorm(project(ctx, x, m.qA!, mla.qLoraRank, H), m.qANorm!), m.qB!, qRows, mla.qLoraRank);
  const qHeads = g.op1('Reshape', [q, ctx.ints([-1, heads, nope + rope])]);
  const compressedAndRope = project(ctx, x, m.kvA, mla.kvLoraRank + rope, H);
  const compressed = latentNorm(lastAxis(ctx, compressedAndRope, 0, mla.kvLoraRank), m.kvANorm);
  const kRope = applyRope(ctx, g.op1('Unsqueeze', [lastAxis(ctx, compressedAndRope, mla.kvLoraRank, mla.kvLoraRank + rope), ctx.ints([1])]));
  const kv = g.op1('Reshape', [project(ctx, compressed, m.kvB, heads * (nope + Dv), mla.kvLoraRank), ctx.ints([-1, heads, nope + Dv])]);
  return {
    q: g.op1('Concat', [lastAxis(ctx, qHeads, 0, nope), applyRope(ctx, lastAxis(ctx, qHeads, nope, nope + rope))], { axis: -1 }),
    k: g.op1('Concat', [lastAxis(ctx, kv, 0, nope), g.op1('Expand', [kRope, ctx.ints([1, heads, 1])])], { axis: -1 }),
    v: lastAxis(ctx, kv, nope, nope + Dv),
  };
}

function attention(ctx: Ctx, layer: number, x: string, names: LayerWeightNames): string {
  const { g, spec } = ctx;
  const D = spec.headDim;
  const Dv = spec.valueHeadDim;
  const projected = spec.mla ? mlaProjections(ctx, x, names) : standardProjections(ctx, x, names);
  const q = g.op1('Transpose', [projected.q], { perm: [1, 0, 2] }); // [heads, T, D]
  const k = g.op1('Transpose', [projected.k], { perm: [1, 0, 2] }); // [kv_heads, T, D]
  const v = g.op1('Transpose', [projected.v], { perm: [1, 0, 2] });
  const presentK = g.op1('Concat', [GRAPH_IO.pastKey(layer), k], { axis: 1 });
  const presentV = g.op1('Concat', [GRAPH_IO.pastValue(layer), v], { axis: 1 });
  g.bindOutput(presentK, GRAPH_IO.presentKey(layer), 'float', [spec.numKvHeads, 'total', D]);
  g.bindOutput(presentV, GRAPH_IO.presentValue(layer), 'float', [spec.numKvHeads, 'total', Dv]);

  // Grouped-query attention without copying K/V: query head h reads KV head h / group, so queries are viewed as
  // [kv_heads, group, T, D] against keys [kv_heads, 1, S, D] and MatMul broadcasts over the group axis.
  const group = spec.numHeads / spec.numKvHeads;
  const qGrouped = g.op1('Reshape', [q, ctx.ints([spec.numKvHeads, group, -1, D])]);
  const keysT = g.op1('Unsqueeze', [g.op1('Transpose', [presentK], { perm: [0, 2, 1] }), ctx.ints([1])]);
  const scores = g.op1('Mul', [g.op1('MatMul', [qGrouped, keysT]), ctx.scalar(spec.attentionScale)]);
  let logits = g.op1('Add', [scores, attentionMask(ctx, spec.layerWindows[layer])]);
  if (spec.attentionSinks) {
    // One extra logit per head joins the softmax; its probability is dropped.
    const sinks = g.op1('Reshape', [load(ctx, names.sinks!, [spec.numHeads]), ctx.ints([spec.numKvHeads, group, 1, 1])]);
    const perQuery = g.op1('Expand', [sinks, g.op1('Concat', [ctx.ints([1, 1]), ctx.stepTokens, ctx.ints([1])], { axis: 0 })]);
    logits = g.op1('Concat', [logits, perQuery], { axis: -1 });
  }
  let probs = g.op1('Softmax', [logits], { axis: -1 });
  if (spec.attentionSinks) probs = lastAxis(ctx, probs, 0, -1);
  const context = g.op1('MatMul', [probs, g.op1('Unsqueeze', [presentV, ctx.ints([1])])]); // [kv_heads, group, T, Dv]
  const perToken = g.op1('Transpose', [g.op1('Reshape', [context, ctx.ints([spec.numHeads, -1, Dv])])], { perm: [1, 0, 2] });
  const merged = g.op1('Reshape', [perToken, ctx.ints([-1, spec.numHeads * Dv])]);
  return project(ctx, merged, names.o, spec.hiddenSize, spec.numHeads * Dv, names.oBias);
}

interface RoutingValues {
  routerLogits: string;
  selected: string;
  weights: string;
}

/** The layer's routed experts as one op: (router input, normalise?) → Σ_selected w · expert(x). */
function expertsOp(ctx: Ctx, x: string, names: LayerWeightNames): (routerInput: string) => string {
  const { g, spec } = ctx;
  const H = spec.hiddenSize;
  const E = spec.numExperts;
  const I = spec.moeIntermediateSize;
  const experts = expertMatrices(spec, ctx.weights, names.experts!);
  const activation = spec.expertActivation;
  const normalize = spec.normTopkProb && spec.router.scoring === 'softmax';
  const block = quantBlock(H, I);
  const format = ctx.plan.experts;
  if (format !== 'f32' && block !== null) {
    const q = quantizedExperts(g, names.router!, { experts: E, hidden: H, inter: I }, experts, bitsOf(format), block);
    return (routerInput) => qmoe(g, x, routerInput, q, { k: spec.topK, normalize, activation });
  }
  const fc1 = g.weight(`${names.router}.fc1`, [E, 2 * I, H], experts.fc1);
  const fc2 = g.weight(`${names.router}.fc2`, [E, H, I], experts.fc2);
  const fc1Bias = experts.fc1Bias ? g.weight(`${names.router}.fc1_bias`, [E, 2 * I], experts.fc1Bias) : '';
  const fc2Bias = experts.fc2Bias ? g.weight(`${names.router}.fc2_bias`, [E, H], experts.fc2Bias) : '';
  return (routerInput) => g.op1('MoE', [x, routerInput, fc1, fc1Bias, fc2, fc2Bias], {
    k: spec.topK, activation_type: 'swiglu', swiglu_fusion: 1, normalize_routing_weights: normalize ? 1 : 0,
    activation_alpha: float(activation.alpha), activation_beta: float(activation.beta), swiglu_limit: float(activation.limit),
  }, 'com.microsoft');
}

/**
 * Selection and weights computed in the graph (engine/model/onnx/routing.ts), fed to the experts op: softmax → top-k
 * of (log w on the selected experts, −BIG elsewhere) selects exactly them with weights w/Σw (renormalised or not,
 * the others weigh 0); the op is linear in the weights, so its output × Σw is Σ w·expert(x) — also when a layer
 * drops every slot (Σw = 0).
 */
function routedInGraph(ctx: Ctx, z: string, steering: LayerSteering | null, correction: string | undefined) {
  const { g } = ctx;
  const { selected, weights, valid } = routeInGraph(ctx, z, steering, correction);
  const logWeights = g.op1('Log', [g.op1('Max', [weights, ctx.scalar(1e-30)])]);
  const routerInput = g.op1('ScatterElements', [
    g.op1('Expand', [ctx.scalar(-BIG), g.op1('Shape', [z])]), selected, g.op1('Where', [valid, logWeights, ctx.scalar(-BIG)]),
  ], { axis: 1, reduction: 'max' });
  return {
    routerInput,
    total: g.op1('ReduceSum', [weights, ctx.ints([-1])], { keepdims: 1 }),
    selected: g.op1('Where', [valid, selected, g.constInt([-1], [])]),
    weights,
  };
}

function moeBlock(ctx: Ctx, moeIndex: number, x: string, names: LayerWeightNames): { out: string; routing?: RoutingValues } {
  const { g, spec } = ctx;
  const H = spec.hiddenSize;
  const E = spec.numExperts;
  const z = project(ctx, x, names.router!, E, H, names.routerBias, 'f32'); // [T, E]
  const experts = expertsOp(ctx, x, names);
  const row = (input: string) => g.op1('Gather', [input, g.constInt([moeIndex], [])], { axis: 0 }); // [E]
  const steering = ctx.variant === 'instrumented'
    ? { bias: row(GRAPH_IO.expertBias), dropped: row(GRAPH_IO.expertDropped), maxWeight: row(GRAPH_IO.expertMaxWeight) }
    : null;
  const correction = names.scoreCorrectionBias ? load(ctx, names.scoreCorrectionBias, [E]) : undefined;
  let out: string;
  let routing: RoutingValues | undefined;
  if (routesInGraph(spec)) {
    // Neutral steering rows (nothing forced, off or dropped) give the family's own routing.
    const r = routedInGraph(ctx, z, steering, correction);
    out = g.op1('Mul', [experts(r.routerInput), r.total]);
    if (steering) routing = { routerLogits: z, selected: r.selected, weights: r.weights };
  } else if (steering) {
    const unsteeredScale = g.constFloat([spec.router.scaling], [1, 1]);
    const [routerInput, scale, selected, weights] = g.ifElse(GRAPH_IO.steeringActive, ['float', 'float', 'int64', 'float'],
      () => {
        const r = routedInGraph(ctx, z, steering, correction);
        return [r.routerInput, r.total, r.selected, r.weights];
      },
      () => [z, unsteeredScale, g.constInt([], [0, spec.topK]), g.constFloat([], [0, spec.topK])]);
    out = g.op1('Mul', [experts(routerInput), scale]);
    routing = { routerLogits: z, selected, weights };
  } else {
    out = experts(z);
    if (spec.router.scaling !== 1) out = g.op1('Mul', [out, ctx.scalar(spec.router.scaling)]);
  }

  if (spec.sharedExpertIntermediateSize > 0) {
    const S = spec.sharedExpertIntermediateSize;
    let shared = swigluMlp(ctx, x, names.sharedGate!, names.sharedUp!, names.sharedDown!, S);
    if (spec.sharedExpertGate) shared = g.op1('Mul', [shared, g.op1('Sigmoid', [project(ctx, x, names.sharedExpertGate!, 1, H, undefined, 'f32')])]);
    out = g.op1('Add', [out, shared]);
  }
  return { out, routing };
}

/**
 * The token embedding lookup and the LM head at the plan's formats. Tied embeddings are one table serving both, at
 * the LM head's format (a quantised table is read by GatherBlockQuantized and MatMulNBits alike).
 */
function embeddingAndHead(ctx: Ctx, globals: GlobalWeightNames, ids: string): { embedded: string; logits: (x: string) => string } {
  const { g, spec, plan } = ctx;
  const V = spec.vocabSize;
  const H = spec.hiddenSize;
  const block = quantBlock(H);
  const read = (name: string) => () => [ctx.weights.read(name)];
  const bias = globals.lmHeadBias ? load(ctx, globals.lmHeadBias, [V]) : undefined;
  const tied = globals.lmHead === globals.embed;
  const tableFormat = tied ? plan.lmHead : plan.embed;
  let embedded: string;
  let tiedHead: ((x: string) => string) | undefined;
  checkShape(ctx.weights, globals.embed, [V, H]);
  if ((tableFormat === 'int8' || tableFormat === 'int4') && block !== null) {
    const table = quantizedWeight(g, globals.embed, V, H, read(globals.embed), bitsOf(tableFormat), block);
    embedded = gatherQuantized(g, table, ids, ctx.ints);
    tiedHead = (x) => matMulNBits(g, x, table, { bias });
  } else if (tableFormat === 'f16') {
    embedded = gatherFloat16(g, float16Table(g, globals.embed, V, H, read(globals.embed)), ids);
  } else {
    const table = load(ctx, globals.embed, [V, H]);
    embedded = g.op1('Gather', [table, ids], { axis: 0 });
    tiedHead = (x) => linear(ctx, x, table, bias);
  }
  const logits = tied ? tiedHead! : (x: string) => project(ctx, x, globals.lmHead, V, H, globals.lmHeadBias, plan.lmHead);
  return { embedded, logits };
}

/** Positions' rotation tables [T, 1, rope dim], scaled by the rope's attention factor. */
function ropeTables(ctx: Ctx, positions: string): { cos: string; sin: string } {
  const { g, spec } = ctx;
  const tables = ropeParameters(spec.rope);
  let invFreq = g.constFloat(tables.invFreq);
  let factor = ctx.scalar(tables.attentionFactor);
  if (tables.long) {
    // longrope: the long tables once the sequence (last position + 1) is longer than the original context.
    const isLong = g.op1('Greater', [g.op1('ReduceMax', [positions], { keepdims: 0 }), g.constInt([tables.long.after - 1], [])]);
    invFreq = g.op1('Where', [isLong, g.constFloat(tables.long.invFreq), invFreq]);
    factor = g.op1('Where', [isLong, ctx.scalar(tables.long.attentionFactor), factor]);
  }
  const angles = g.op1('Mul', [g.op1('Unsqueeze', [g.op1('Cast', [positions], { to: 1 }), ctx.ints([1])]), invFreq]);
  const full = g.op1('Unsqueeze', [g.op1('Concat', [angles, angles], { axis: -1 }), ctx.ints([1])]);
  return { cos: g.op1('Mul', [g.op1('Cos', [full]), factor]), sin: g.op1('Mul', [g.op1('Sin', [full]), factor]) };
}

export interface BuildControl {
  onProgress?: (done: number, total: number) => void;
  /** Checked between layers; an aborted build throws. */
  signal?: AbortSignal;
}

/**
 * Builds every graph variant of a checkpoint at a precision; weights stream once to dataFile (quantised as they
 * pass, one tensor at a time), which all of them reference. Returns the serialised ModelProtos and the weights
 * file's digest. Yields to the event
 * loop after each layer, so a host stays responsive (progress, cancel) while a large model builds; an aborted build
 * throws.
 */
export async function buildGraphs(family: FamilyDescriptor, spec: ModelSpec, source: WeightSource, precision: Precision,
  dataFile: string, dataLocation: string, control: BuildControl = {}): Promise<{ models: Record<GraphVariant, Uint8Array>; weights: FileDigest }> {
  const weights = precision === 'bf16-as-f32' ? bf16Weights(source) : source;
  const plan = PRECISION_PLANS[precision];
  const store = new ExternalWeights(dataFile, dataLocation);
  const built: Partial<Record<GraphVariant, Uint8Array>> = {};
  try {
    for (const variant of GRAPH_VARIANTS) {
      // The first variant reads and writes the weights, which is nearly all the work; the others reuse them.
      const first = variant === GRAPH_VARIANTS[0];
      built[variant] = await buildVariant(family, spec, weights, plan, new GraphBuilder(store), variant, async (layer) => {
        if (first) control.onProgress?.(layer + 1, spec.numLayers);
        await new Promise((resolve) => setImmediate(resolve));
        if (control.signal?.aborted) throw new Error('graph build cancelled');
      });
    }
  } catch (err) {
    store.close();
    throw err;
  }
  const digest = store.close();
  if (!digest) throw new Error('internal: the weights file was written past what its hash describes');
  return { models: built as Record<GraphVariant, Uint8Array>, weights: digest };
}

async function buildVariant(family: FamilyDescriptor, spec: ModelSpec, weights: WeightSource, plan: PrecisionPlan,
  g: GraphBuilder, variant: GraphVariant, layerDone: (layer: number) => Promise<void>): Promise<Uint8Array> {
  const scalarCache = new Map<number, string>();
  const moeLayers = moeLayerIndices(spec);
  const L = moeLayers.length;
  const ids = g.input(GRAPH_IO.inputIds, 'int64', ['tokens']);
  const positions = g.input(GRAPH_IO.positionIds, 'int64', ['tokens']);
  const logitsFrom = g.input(GRAPH_IO.logitsFrom, 'int64', [1]);
  for (let i = 0; i < spec.numLayers; i++) {
    g.input(GRAPH_IO.pastKey(i), 'float', [spec.numKvHeads, 'past', spec.headDim]);
    g.input(GRAPH_IO.pastValue(i), 'float', [spec.numKvHeads, 'past', spec.valueHeadDim]);
  }
  if (variant === 'instrumented') {
    g.input(GRAPH_IO.steeringActive, 'bool', []);
    g.input(GRAPH_IO.expertBias, 'float', [L, spec.numExperts]);
    g.input(GRAPH_IO.expertDropped, 'bool', [L, spec.numExperts]);
    g.input(GRAPH_IO.expertMaxWeight, 'bool', [L, spec.numExperts]);
  }
  const ctx: Ctx = {
    g, spec, weights, variant, plan, cos: '', sin: '', masks: new Map(),
    stepTokens: g.op1('Shape', [ids]),
    pastTokens: g.op1('Shape', [GRAPH_IO.pastKey(0)], { start: 1, end: 2 }),
    ints: (values) => g.constInt(values),
    scalar: (value) => {
      if (!scalarCache.has(value)) scalarCache.set(value, g.constFloat([value], []));
      return scalarCache.get(value)!;
    },
  };
  Object.assign(ctx, ropeTables(ctx, positions));

  const globals = family.globalWeights(spec);
  const head = embeddingAndHead(ctx, globals, ids);
  let x = head.embedded; // [T, H]
  const { embedding, residual, logits: logitsDivisor } = spec.multipliers;
  if (embedding !== 1) x = g.op1('Mul', [x, ctx.scalar(embedding)]);
  const addResidual = (base: string, update: string) =>
    g.op1('Add', [base, residual === 1 ? update : g.op1('Mul', [update, ctx.scalar(residual)])]);
  const routing: RoutingValues[] = [];
  for (let layer = 0; layer < spec.numLayers; layer++) {
    const names = family.layerWeights(spec, layer);
    x = addResidual(x, attention(ctx, layer, norm(ctx, x, names.inputNorm, names.inputNormBias), names));
    const h = norm(ctx, x, names.postAttentionNorm, names.postAttentionNormBias);
    let mlp: string;
    if (spec.moeLayers[layer]) {
      const block = moeBlock(ctx, moeLayers.indexOf(layer), h, names);
      mlp = block.out;
      if (block.routing) routing.push(block.routing);
    } else {
      mlp = swigluMlp(ctx, h, names.denseGate!, names.denseUp!, names.denseDown!, spec.denseIntermediateSize);
    }
    x = addResidual(x, mlp);
    await layerDone(layer);
  }
  x = norm(ctx, x, globals.finalNorm, globals.finalNormBias);
  const tail = g.op1('Slice', [x, logitsFrom, ctx.ints([Number.MAX_SAFE_INTEGER]), ctx.ints([0])]);
  let logits = head.logits(tail);
  if (logitsDivisor !== 1) logits = g.op1('Div', [logits, ctx.scalar(logitsDivisor)]);
  g.bindOutput(logits, GRAPH_IO.logits, 'float', ['logit_tokens', spec.vocabSize]);

  if (variant !== 'plain' && L > 0) {
    // [T, n] per layer concatenated to [L·T, n]: the bytes of [L, T, n], one op.
    const stack = (values: string[]) => g.op1('Concat', values, { axis: 0 });
    g.bindOutput(stack(routing.map((r) => r.routerLogits)), GRAPH_IO.routerLogits, 'float', ['layer_tokens', spec.numExperts]);
    g.bindOutput(stack(routing.map((r) => r.selected)), GRAPH_IO.selectedExperts, 'int64', ['selected_rows', spec.topK]);
    g.bindOutput(stack(routing.map((r) => r.weights)), GRAPH_IO.routingWeights, 'float', ['selected_rows', spec.topK]);
  }
  return g.finish(`${spec.modelType}-mote-${variant}`);
}
