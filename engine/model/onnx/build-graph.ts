import type { WeightSource } from '../weights.ts';
import { moeLayerIndices, type LayerWeightNames, type ModelSpec } from '../spec.ts';
import type { FamilyDescriptor } from '../families/family.ts';
import { MAX_FORCE_EPSILON } from '../../steering/mask.ts';
import { SELECTION_BIAS } from '../../steering/steering-tensors.ts';
import { ExternalWeights, GraphBuilder, float } from './graph.ts';
import { ropeParameters } from './rope.ts';

/**
 * The graphs built from one checkpoint; they share one weights file.
 * - steered: steering inputs, and routing outputs router_logits, selected_experts and routing_weights;
 * - routing: the model as it is, plus router_logits (the runner derives the selection on the host), so that
 *   recording an unsteered run adds almost no work to it;
 * - plain: the model as it is, for benchmarks to compare against.
 */
export const GRAPH_VARIANTS = ['steered', 'routing', 'plain'] as const;
export type GraphVariant = (typeof GRAPH_VARIANTS)[number];

/**
 * The graph's interface, batch size one. T = new tokens this step, P = cached tokens, S = P + T, L = MoE layers.
 * inputs:  input_ids int64 [T]; position_ids int64 [T]; logits_from int64 [1] (first position whose logits are
 *          returned); past_key_{i}, past_value_{i} float [kv_heads, P, head_dim] per decoder layer;
 *          steered only (engine/steering/steering-tensors.ts): expert_bias float [L, E], expert_dropped bool [L, E],
 *          expert_max_weight bool [L, E].
 * outputs: logits float [T - logits_from, vocab]; present_key_{i}, present_value_{i} float [kv_heads, S, head_dim];
 *          router_logits float [L·T, E] (steered and routing); steered only: selected_experts int64 [L·T, k]
 *          (-1 = slot dropped); routing_weights float [L·T, k] (each selected expert's mixing weight, 0 if dropped);
 *          each laid out as [L, T, …].
 */
export const GRAPH_IO = {
  inputIds: 'input_ids',
  positionIds: 'position_ids',
  logitsFrom: 'logits_from',
  pastKey: (i: number) => `past_key_${i}`,
  pastValue: (i: number) => `past_value_${i}`,
  presentKey: (i: number) => `present_key_${i}`,
  presentValue: (i: number) => `present_value_${i}`,
  expertBias: 'expert_bias',
  expertDropped: 'expert_dropped',
  expertMaxWeight: 'expert_max_weight',
  logits: 'logits',
  routerLogits: 'router_logits',
  selectedExperts: 'selected_experts',
  routingWeights: 'routing_weights',
} as const;

/** Stands in for ±infinity in selection keys and masked logits; finite so that no arithmetic makes NaN. */
const BIG = 1e9;

interface Ctx {
  g: GraphBuilder;
  spec: ModelSpec;
  weights: WeightSource;
  variant: GraphVariant;
  cos: string;
  sin: string;
  causalMask: string;
  ints: (values: number[]) => string;
  scalar: (value: number) => string;
}

function checkShape(weights: WeightSource, name: string, expected: number[]): void {
  const actual = weights.shape(name);
  if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
    throw new Error(`tensor ${name} has shape ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)} from config.json`);
  }
}

function load(ctx: Ctx, name: string, expected: number[]): string {
  checkShape(ctx.weights, name, expected);
  return ctx.g.weight(name, expected, () => [ctx.weights.read(name)]);
}

function rmsNorm(ctx: Ctx, x: string, weight: string): string {
  const { g } = ctx;
  const meanSquare = g.op1('ReduceMean', [g.op1('Mul', [x, x]), ctx.ints([-1])], { keepdims: 1 });
  const rms = g.op1('Sqrt', [g.op1('Add', [meanSquare, ctx.scalar(ctx.spec.rmsNormEps)])]);
  return g.op1('Mul', [g.op1('Div', [x, rms]), weight]);
}

/** x · Wᵀ (+ b) with W stored [out, in] as in the checkpoint. */
function linear(ctx: Ctx, x: string, weight: string, bias?: string): string {
  return ctx.g.op1('Gemm', bias ? [x, weight, bias] : [x, weight], { transB: 1 });
}

function swigluMlp(ctx: Ctx, x: string, gate: string, up: string, down: string): string {
  const { g } = ctx;
  const gx = linear(ctx, x, gate);
  const act = g.op1('Mul', [g.op1('Mul', [gx, g.op1('Sigmoid', [gx])]), linear(ctx, x, up)]);
  return linear(ctx, act, down);
}

/** x [T, heads, head_dim]: rotate-half RoPE. */
function applyRope(ctx: Ctx, x: string): string {
  const { g, spec } = ctx;
  const half = spec.headDim / 2;
  const x1 = g.op1('Slice', [x, ctx.ints([0]), ctx.ints([half]), ctx.ints([-1])]);
  const x2 = g.op1('Slice', [x, ctx.ints([half]), ctx.ints([spec.headDim]), ctx.ints([-1])]);
  const rotated = g.op1('Concat', [g.op1('Neg', [x2]), x1], { axis: -1 });
  return g.op1('Add', [g.op1('Mul', [x, ctx.cos]), g.op1('Mul', [rotated, ctx.sin])]);
}

function attention(ctx: Ctx, layer: number, x: string, names: LayerWeightNames): string {
  const { g, spec } = ctx;
  const H = spec.hiddenSize;
  const D = spec.headDim;
  const qDim = spec.numHeads * D;
  const kvDim = spec.numKvHeads * D;
  const bias = (name: string | undefined, dim: number) => (name ? load(ctx, name, [dim]) : undefined);
  let q = linear(ctx, x, load(ctx, names.q, [qDim, H]), bias(names.qBias, qDim));
  let k = linear(ctx, x, load(ctx, names.k, [kvDim, H]), bias(names.kBias, kvDim));
  let v = linear(ctx, x, load(ctx, names.v, [kvDim, H]), bias(names.vBias, kvDim));
  if (spec.qkNorm === 'projection') {
    q = rmsNorm(ctx, q, load(ctx, names.qNorm!, [qDim]));
    k = rmsNorm(ctx, k, load(ctx, names.kNorm!, [kvDim]));
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
    q = rmsNorm(ctx, q, load(ctx, names.qNorm!, [D]));
    k = rmsNorm(ctx, k, load(ctx, names.kNorm!, [D]));
  }
  q = g.op1('Transpose', [applyRope(ctx, q)], { perm: [1, 0, 2] }); // [heads, T, D]
  k = g.op1('Transpose', [applyRope(ctx, k)], { perm: [1, 0, 2] }); // [kv_heads, T, D]
  v = g.op1('Transpose', [v], { perm: [1, 0, 2] });
  const presentK = g.op1('Concat', [GRAPH_IO.pastKey(layer), k], { axis: 1 });
  const presentV = g.op1('Concat', [GRAPH_IO.pastValue(layer), v], { axis: 1 });
  g.bindOutput(presentK, GRAPH_IO.presentKey(layer), 'float', [spec.numKvHeads, 'total', D]);
  g.bindOutput(presentV, GRAPH_IO.presentValue(layer), 'float', [spec.numKvHeads, 'total', D]);

  // Grouped-query attention without copying K/V: query head h reads KV head h / group, so queries are viewed as
  // [kv_heads, group, T, D] against keys [kv_heads, 1, S, D] and MatMul broadcasts over the group axis.
  const group = spec.numHeads / spec.numKvHeads;
  const qGrouped = g.op1('Reshape', [q, ctx.ints([spec.numKvHeads, group, -1, D])]);
  const keysT = g.op1('Unsqueeze', [g.op1('Transpose', [presentK], { perm: [0, 2, 1] }), ctx.ints([1])]);
  const scores = g.op1('Mul', [g.op1('MatMul', [qGrouped, keysT]), ctx.scalar(1 / Math.sqrt(D))]);
  const probs = g.op1('Softmax', [g.op1('Add', [scores, ctx.causalMask])], { axis: -1 });
  const context = g.op1('MatMul', [probs, g.op1('Unsqueeze', [presentV, ctx.ints([1])])]); // [kv_heads, group, T, D]
  const perToken = g.op1('Transpose', [g.op1('Reshape', [context, ctx.ints([spec.numHeads, -1, D])])], { perm: [1, 0, 2] });
  const merged = g.op1('Reshape', [perToken, ctx.ints([-1, qDim])]);
  return linear(ctx, merged, load(ctx, names.o, [H, qDim]));
}

/** Interleaves gate and up rows per expert ([E, 2I, H], gate row i at 2i) for MoE's fused SwiGLU. */
function* fusedGateUp(ctx: Ctx, names: LayerWeightNames): Generator<Float32Array> {
  const { spec, weights } = ctx;
  const I = spec.moeIntermediateSize;
  const H = spec.hiddenSize;
  for (let e = 0; e < spec.numExperts; e++) {
    checkShape(weights, names.expertGate!(e), [I, H]);
    checkShape(weights, names.expertUp!(e), [I, H]);
    const gate = weights.read(names.expertGate!(e));
    const up = weights.read(names.expertUp!(e));
    const out = new Float32Array(2 * I * H);
    for (let i = 0; i < I; i++) {
      out.set(gate.subarray(i * H, (i + 1) * H), 2 * i * H);
      out.set(up.subarray(i * H, (i + 1) * H), (2 * i + 1) * H);
    }
    yield out;
  }
}

function* expertDowns(ctx: Ctx, names: LayerWeightNames): Generator<Float32Array> {
  for (let e = 0; e < ctx.spec.numExperts; e++) {
    checkShape(ctx.weights, names.expertDown!(e), [ctx.spec.hiddenSize, ctx.spec.moeIntermediateSize]);
    yield ctx.weights.read(names.expertDown!(e));
  }
}

interface RoutingValues {
  routerLogits: string;
  /** Steered graph only. */
  selected?: string;
  weights?: string;
}

/**
 * Selection and mixing weights under the steering inputs (DESIGN §5), for a softmax router. The selection key is
 * router logit + bias: forced experts come first; backfill-off experts come last, so the next-best experts take
 * their slots. In drop mode off experts keep their logit, so TopK returns forced ++ the router's own ranking, whose
 * first k − F entries are exactly the original top-k less the forced ones; off experts among them are then
 * invalidated and lose their slot.
 */
function steeredRouting(ctx: Ctx, moeIndex: number, z: string): { selected: string; weights: string; valid: string } {
  const { g, spec } = ctx;
  const row = (input: string) => g.op1('Gather', [input, g.constInt([moeIndex], [])], { axis: 0 }); // [E]
  const [topValues, selected] = g.op('TopK', [g.op1('Add', [z, row(GRAPH_IO.expertBias)]), ctx.ints([spec.topK])],
    { axis: -1, largest: 1, sorted: 1 }, { outputs: 2 });
  const dropped = g.op1('Gather', [row(GRAPH_IO.expertDropped), selected], { axis: 0 }); // [T, k]
  const valid = g.op1('And', [g.op1('Greater', [topValues, ctx.scalar(-SELECTION_BIAS / 2)]), g.op1('Not', [dropped])]);

  const raised = g.op1('Add', [g.op1('ReduceMax', [z, ctx.ints([-1])], { keepdims: 1 }), ctx.scalar(MAX_FORCE_EPSILON)]);
  const probs = g.op1('Softmax', [g.op1('Where', [row(GRAPH_IO.expertMaxWeight), raised, z])], { axis: -1 });
  let weights = g.op1('Where', [valid, g.op1('GatherElements', [probs, selected], { axis: 1 }), ctx.scalar(0)]);
  if (spec.normTopkProb) {
    const total = g.op1('ReduceSum', [weights, ctx.ints([-1])], { keepdims: 1 });
    weights = g.op1('Div', [weights, g.op1('Max', [total, ctx.scalar(1e-30)])]);
  }
  return { selected, weights, valid };
}

function moeBlock(ctx: Ctx, moeIndex: number, x: string, names: LayerWeightNames): { out: string; routing?: RoutingValues } {
  const { g, spec } = ctx;
  const H = spec.hiddenSize;
  const E = spec.numExperts;
  const I = spec.moeIntermediateSize;
  const z = linear(ctx, x, load(ctx, names.router!, [E, H])); // [T, E]
  const fc1 = g.weight(`${names.router}.fc1`, [E, 2 * I, H], () => fusedGateUp(ctx, names));
  const fc2 = g.weight(`${names.router}.fc2`, [E, H, I], () => expertDowns(ctx, names));
  const moe = (routerInput: string, normalize: number) =>
    g.op1('MoE', [x, routerInput, fc1, '', fc2], {
      k: spec.topK, activation_type: 'swiglu', swiglu_fusion: 1, normalize_routing_weights: normalize,
      activation_alpha: float(1), activation_beta: float(0), swiglu_limit: float(Infinity),
    }, 'com.microsoft');

  let out: string;
  let routing: RoutingValues | undefined;
  if (ctx.variant === 'steered') {
    const { selected, weights, valid } = steeredRouting(ctx, moeIndex, z);
    // MoE takes softmax → top-k → renormalise of its router input. Feeding log w on the selected experts and
    // −BIG elsewhere makes it pick exactly them with weights w/Σw; the op is linear in the weights, so scaling its
    // output by Σw gives Σ w·expert(x) — also when a layer drops every slot (Σw = 0).
    const logWeights = g.op1('Log', [g.op1('Max', [weights, ctx.scalar(1e-30)])]);
    const routerInput = g.op1('ScatterElements', [
      g.op1('Expand', [ctx.scalar(-BIG), g.op1('Shape', [z])]), selected, g.op1('Where', [valid, logWeights, ctx.scalar(-BIG)]),
    ], { axis: 1 });
    const total = g.op1('ReduceSum', [weights, ctx.ints([-1])], { keepdims: 1 });
    out = g.op1('Mul', [moe(routerInput, 1), total]);
    routing = { routerLogits: z, selected: g.op1('Where', [valid, selected, g.constInt([-1], [])]), weights };
  } else {
    out = moe(z, spec.normTopkProb ? 1 : 0);
    if (ctx.variant === 'routing') routing = { routerLogits: z };
  }

  if (spec.sharedExpertIntermediateSize > 0) {
    const S = spec.sharedExpertIntermediateSize;
    let shared = swigluMlp(ctx, x, load(ctx, names.sharedGate!, [S, H]), load(ctx, names.sharedUp!, [S, H]), load(ctx, names.sharedDown!, [H, S]));
    if (spec.sharedExpertGate) {
      const gate = g.op1('Sigmoid', [linear(ctx, x, load(ctx, names.sharedExpertGate!, [1, H]))]);
      shared = g.op1('Mul', [shared, gate]);
    }
    out = g.op1('Add', [out, shared]);
  }
  return { out, routing };
}

export interface BuildControl {
  onProgress?: (done: number, total: number) => void;
  /** Checked between layers; an aborted build throws. */
  signal?: AbortSignal;
}

/**
 * Builds every graph variant of a checkpoint; weights stream once to dataFile, which all of them reference. Returns
 * the serialised ModelProtos. Yields to the event loop after each layer, so a host stays responsive (progress,
 * cancel) while a large model builds; an aborted build throws.
 */
export async function buildGraphs(family: FamilyDescriptor, spec: ModelSpec, weights: WeightSource, dataFile: string,
  dataLocation: string, control: BuildControl = {}): Promise<Record<GraphVariant, Uint8Array>> {
  const store = new ExternalWeights(dataFile, dataLocation);
  const built: Partial<Record<GraphVariant, Uint8Array>> = {};
  try {
    for (const variant of GRAPH_VARIANTS) {
      // The first variant reads and writes the weights, which is nearly all the work; the others reuse them.
      const first = variant === GRAPH_VARIANTS[0];
      built[variant] = await buildVariant(family, spec, weights, new GraphBuilder(store), variant, async (layer) => {
        if (first) control.onProgress?.(layer + 1, spec.numLayers);
        await new Promise((resolve) => setImmediate(resolve));
        if (control.signal?.aborted) throw new Error('graph build cancelled');
      });
    }
  } finally {
    store.close();
  }
  return built as Record<GraphVariant, Uint8Array>;
}

async function buildVariant(family: FamilyDescriptor, spec: ModelSpec, weights: WeightSource, g: GraphBuilder,
  variant: GraphVariant, layerDone: (layer: number) => Promise<void>): Promise<Uint8Array> {
  const scalarCache = new Map<number, string>();
  const ctx: Ctx = {
    g, spec, weights, variant, cos: '', sin: '', causalMask: '',
    ints: (values) => g.constInt(values),
    scalar: (value) => {
      if (!scalarCache.has(value)) scalarCache.set(value, g.constFloat([value], []));
      return scalarCache.get(value)!;
    },
  };
  const moeLayers = moeLayerIndices(spec);
  const L = moeLayers.length;
  const ids = g.input(GRAPH_IO.inputIds, 'int64', ['tokens']);
  const positions = g.input(GRAPH_IO.positionIds, 'int64', ['tokens']);
  const logitsFrom = g.input(GRAPH_IO.logitsFrom, 'int64', [1]);
  for (let i = 0; i < spec.numLayers; i++) {
    g.input(GRAPH_IO.pastKey(i), 'float', [spec.numKvHeads, 'past', spec.headDim]);
    g.input(GRAPH_IO.pastValue(i), 'float', [spec.numKvHeads, 'past', spec.headDim]);
  }
  if (variant === 'steered') {
    g.input(GRAPH_IO.expertBias, 'float', [L, spec.numExperts]);
    g.input(GRAPH_IO.expertDropped, 'bool', [L, spec.numExperts]);
    g.input(GRAPH_IO.expertMaxWeight, 'bool', [L, spec.numExperts]);
  }

  // RoPE tables for this step's positions: [T, 1, head_dim], broadcast over heads.
  const { invFreq, attentionFactor } = ropeParameters(spec.rope);
  const angles = g.op1('Mul', [g.op1('Unsqueeze', [g.op1('Cast', [positions], { to: 1 }), ctx.ints([1])]), g.constFloat(invFreq)]);
  const full = g.op1('Unsqueeze', [g.op1('Concat', [angles, angles], { axis: -1 }), ctx.ints([1])]);
  ctx.cos = g.op1('Mul', [g.op1('Cos', [full]), ctx.scalar(attentionFactor)]);
  ctx.sin = g.op1('Mul', [g.op1('Sin', [full]), ctx.scalar(attentionFactor)]);

  // Causal mask [T, S]: query t (absolute position P + t) sees keys 0 … P + t.
  const T = g.op1('Shape', [ids]);
  const P = g.op1('Shape', [GRAPH_IO.pastKey(0)], { start: 1, end: 2 });
  const S = g.op1('Add', [T, P]);
  const zero = g.constInt([0], []);
  const one = g.constInt([1], []);
  const rows = g.op1('Add', [g.op1('Unsqueeze', [g.op1('Range', [zero, g.op1('Squeeze', [T]), one]), ctx.ints([1])]), P]);
  const cols = g.op1('Unsqueeze', [g.op1('Range', [zero, g.op1('Squeeze', [S]), one]), ctx.ints([0])]);
  ctx.causalMask = g.op1('Where', [g.op1('Greater', [cols, rows]), ctx.scalar(-BIG), ctx.scalar(0)]);

  const globals = family.globalWeights(spec);
  const embed = load(ctx, globals.embed, [spec.vocabSize, spec.hiddenSize]);
  let x = g.op1('Gather', [embed, ids], { axis: 0 }); // [T, H]
  const routing: RoutingValues[] = [];
  for (let layer = 0; layer < spec.numLayers; layer++) {
    const names = family.layerWeights(spec, layer);
    const H = spec.hiddenSize;
    const attn = attention(ctx, layer, rmsNorm(ctx, x, load(ctx, names.inputNorm, [H])), names);
    x = g.op1('Add', [x, attn]);
    const h = rmsNorm(ctx, x, load(ctx, names.postAttentionNorm, [H]));
    let mlp: string;
    if (spec.moeLayers[layer]) {
      const block = moeBlock(ctx, moeLayers.indexOf(layer), h, names);
      mlp = block.out;
      if (block.routing) routing.push(block.routing);
    } else {
      const I = spec.denseIntermediateSize;
      mlp = swigluMlp(ctx, h, load(ctx, names.denseGate!, [I, H]), load(ctx, names.denseUp!, [I, H]), load(ctx, names.denseDown!, [H, I]));
    }
    x = g.op1('Add', [x, mlp]);
    await layerDone(layer);
  }
  x = rmsNorm(ctx, x, load(ctx, globals.finalNorm, [spec.hiddenSize]));
  const tail = g.op1('Slice', [x, logitsFrom, ctx.ints([Number.MAX_SAFE_INTEGER]), ctx.ints([0])]);
  const lmHead = globals.lmHead === globals.embed ? embed : load(ctx, globals.lmHead, [spec.vocabSize, spec.hiddenSize]);
  g.bindOutput(linear(ctx, tail, lmHead), GRAPH_IO.logits, 'float', ['logit_tokens', spec.vocabSize]);

  if (variant !== 'plain' && L > 0) {
    // [T, n] per layer concatenated to [L·T, n]: the bytes of [L, T, n], one op.
    const stack = (values: string[]) => g.op1('Concat', values, { axis: 0 });
    g.bindOutput(stack(routing.map((r) => r.routerLogits)), GRAPH_IO.routerLogits, 'float', ['layer_tokens', spec.numExperts]);
    if (variant === 'steered') {
      g.bindOutput(stack(routing.map((r) => r.selected!)), GRAPH_IO.selectedExperts, 'int64', ['layer_tokens', spec.topK]);
      g.bindOutput(stack(routing.map((r) => r.weights!)), GRAPH_IO.routingWeights, 'float', ['layer_tokens', spec.topK]);
    }
  }
  return g.finish(`${spec.modelType}-mote-${variant}`);
}
