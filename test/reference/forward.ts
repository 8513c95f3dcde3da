/**
 * An independent float64 forward pass of the HF transformers modeling code for Mixtral, Qwen2-MoE, Qwen3-MoE and
 * OLMoE, with routing capture and steering (DESIGN §4–5). Written for clarity: no KV cache, plain loops.
 */
import type { WeightSource } from '../../engine/model/weights.ts';
import type { ExpertMask } from '../../engine/steering/mask.ts';
import { parseReferenceConfig, type ReferenceConfig } from './config.ts';
import { addScaled, argmax, dot, matVec, rmsNorm, sigmoid, silu, softmax, type Matrix } from './math.ts';
import { applyRope } from './rope.ts';
import { routeToken, steeringByLayer, type LayerSteering } from './routing.ts';
import { layerModules, type LayerModules, type MlpModules } from './weight-names.ts';

export interface ReferenceRouting {
  /** Decoder-layer index. */
  layer: number;
  /** Per token: [numExperts] router logits as the router computed them (steering does not change them). */
  routerLogits: Float64Array[];
  /** Per token: the experts that ran, forced first, then best first; fewer than k in drop mode. */
  selected: number[][];
  /** Per token: the mixing weight of each entry of `selected`. */
  weights: number[][];
}

export interface ReferenceForwardResult {
  /** Per position: [vocab] logits. */
  logits: Float64Array[];
  /** One entry per MoE layer, ascending; dense layers are absent. */
  routing: ReferenceRouting[];
}

export interface ReferenceGreedyResult {
  generatedIds: number[];
  /** [steps + 1] × [vocab]: entry i = last-position logits after i generated tokens (entry 0 = end of prompt). */
  stepLogits: Float64Array[];
}

/** `config` is config.json as parsed; `ids` the whole sequence (no BOS is added). */
export function referenceForward(
  config: Record<string, unknown>,
  weights: WeightSource,
  ids: number[],
  mask?: ExpertMask,
): ReferenceForwardResult {
  const model = parseReferenceConfig(config);
  if (model.slidingWindow !== null && ids.length > model.slidingWindow) {
    throw new Error(`${ids.length} tokens exceed the sliding window of ${model.slidingWindow}, which the reference does not implement`);
  }
  const steering = steeringByLayer(mask, model);
  const tensors = new WideWeights(weights);
  const embedding = tensors.matrix('model.embed_tokens');
  const hidden = ids.map((id) => {
    if (!(Number.isInteger(id) && id >= 0 && id < embedding.rows)) throw new Error(`token id ${id} out of range`);
    return embedding.data.slice(id * embedding.cols, (id + 1) * embedding.cols);
  });
  const routing: ReferenceRouting[] = [];
  for (let layer = 0; layer < model.numLayers; layer++) {
    const modules = layerModules(model.family, layer);
    const inputNorm = tensors.vector(modules.inputNorm);
    const attentionInputs = hidden.map((x) => rmsNorm(x, inputNorm, model.rmsNormEps));
    selfAttention(model, tensors, modules, attentionInputs).forEach((out, t) => addScaled(hidden[t], out));

    const postAttentionNorm = tensors.vector(modules.postAttentionNorm);
    const mlpInputs = hidden.map((x) => rmsNorm(x, postAttentionNorm, model.rmsNormEps));
    let mlpOutputs: Float64Array[];
    if (model.moeLayers.includes(layer)) {
      const moe = sparseMoe(model, tensors, modules, mlpInputs, steering.get(layer));
      routing.push({ layer, ...moe.routing });
      mlpOutputs = moe.outputs;
    } else {
      mlpOutputs = mlpInputs.map((x) => swiGlu(tensors, modules.denseMlp, x));
    }
    mlpOutputs.forEach((out, t) => addScaled(hidden[t], out));
  }
  const finalNorm = tensors.vector('model.norm');
  const head = tensors.matrix(model.tieWordEmbeddings ? 'model.embed_tokens' : 'lm_head');
  return { logits: hidden.map((x) => matVec(head, rmsNorm(x, finalNorm, model.rmsNormEps))), routing };
}

/** Greedy decoding (argmax, lowest id on ties), recomputing the whole sequence at every step. */
export function referenceGreedy(
  config: Record<string, unknown>,
  weights: WeightSource,
  promptIds: number[],
  steps: number,
  mask?: ExpertMask,
): ReferenceGreedyResult {
  const ids = [...promptIds];
  const stepLogits: Float64Array[] = [];
  for (let step = 0; step <= steps; step++) {
    const { logits } = referenceForward(config, weights, ids, mask);
    stepLogits.push(logits[logits.length - 1]);
    if (step < steps) ids.push(argmax(logits[logits.length - 1]));
  }
  return { generatedIds: ids.slice(promptIds.length), stepLogits };
}

function selfAttention(
  model: ReferenceConfig,
  tensors: WideWeights,
  modules: LayerModules,
  inputs: Float64Array[],
): Float64Array[] {
  const { numHeads, numKvHeads, headDim, rmsNormEps } = model;
  let queries = inputs.map((x) => linear(tensors, modules.q, x));
  let keys = inputs.map((x) => linear(tensors, modules.k, x));
  const values = inputs.map((x) => linear(tensors, modules.v, x));
  if (model.qkNorm === 'whole-projection') {
    const qNorm = tensors.vector(modules.qNorm);
    const kNorm = tensors.vector(modules.kNorm);
    queries = queries.map((q) => rmsNorm(q, qNorm, rmsNormEps));
    keys = keys.map((k) => rmsNorm(k, kNorm, rmsNormEps));
  } else if (model.qkNorm === 'per-head') {
    normaliseHeads(queries, tensors.vector(modules.qNorm), numHeads, headDim, rmsNormEps);
    normaliseHeads(keys, tensors.vector(modules.kNorm), numKvHeads, headDim, rmsNormEps);
  }
  const clip = model.clipQkv;
  if (clip !== null) {
    for (const vector of [...queries, ...keys, ...values]) vector.set(vector.map((v) => Math.min(Math.max(v, -clip), clip)));
  }
  queries.forEach((q, position) => {
    for (let h = 0; h < numHeads; h++) applyRope(q, h * headDim, position, model.rope);
  });
  keys.forEach((k, position) => {
    for (let h = 0; h < numKvHeads; h++) applyRope(k, h * headDim, position, model.rope);
  });

  const headsPerKv = numHeads / numKvHeads;
  const scale = 1 / Math.sqrt(headDim);
  return queries.map((q, t) => {
    const attended = new Float64Array(numHeads * headDim);
    for (let h = 0; h < numHeads; h++) {
      const queryHead = q.subarray(h * headDim, (h + 1) * headDim);
      const kvOffset = Math.floor(h / headsPerKv) * headDim;
      const probabilities = softmax(keys.slice(0, t + 1).map((k) => dot(queryHead, k, kvOffset) * scale));
      probabilities.forEach((p, s) => {
        for (let i = 0; i < headDim; i++) attended[h * headDim + i] += p * values[s][kvOffset + i];
      });
    }
    return linear(tensors, modules.o, attended);
  });
}

function normaliseHeads(vectors: Float64Array[], weight: Float64Array, heads: number, headDim: number, eps: number) {
  for (const vector of vectors) {
    for (let h = 0; h < heads; h++) vector.set(rmsNorm(vector, weight, eps, h * headDim), h * headDim);
  }
}

function sparseMoe(
  model: ReferenceConfig,
  tensors: WideWeights,
  modules: LayerModules,
  inputs: Float64Array[],
  steering: LayerSteering | undefined,
): { outputs: Float64Array[]; routing: Omit<ReferenceRouting, 'layer'> } {
  const router = tensors.matrix(modules.router);
  const routing: Omit<ReferenceRouting, 'layer'> = { routerLogits: [], selected: [], weights: [] };
  const outputs = inputs.map((x) => {
    const logits = matVec(router, x);
    const route = routeToken(logits, model.topK, model.normalizeTopK, steering);
    routing.routerLogits.push(logits);
    routing.selected.push(route.selected);
    routing.weights.push(route.weights);
    const out = new Float64Array(model.hiddenSize);
    route.selected.forEach((expert, i) => addScaled(out, swiGlu(tensors, modules.expert(expert), x), route.weights[i]));
    if (model.hasSharedExpert) {
      const gate = sigmoid(matVec(tensors.matrix(modules.sharedExpertGate), x)[0]);
      addScaled(out, swiGlu(tensors, modules.sharedExpert, x), gate);
    }
    return out;
  });
  return { outputs, routing };
}

/** down(silu(gate · x) * (up · x)). */
function swiGlu(tensors: WideWeights, mlp: MlpModules, x: Float64Array): Float64Array {
  const gate = matVec(tensors.matrix(mlp.gate), x);
  const up = matVec(tensors.matrix(mlp.up), x);
  return matVec(tensors.matrix(mlp.down), gate.map((g, i) => silu(g) * up[i]));
}

/** A Linear layer; the bias is used when the checkpoint has one (Qwen2's q/k/v, attention_bias). */
function linear(tensors: WideWeights, module: string, x: Float64Array): Float64Array {
  const y = matVec(tensors.matrix(module), x);
  const bias = tensors.bias(module);
  if (bias) addScaled(y, bias);
  return y;
}

/** Module weights widened to float64 once per forward pass. */
class WideWeights {
  private readonly source: WeightSource;
  private readonly widened = new Map<string, Float64Array>();

  constructor(source: WeightSource) {
    this.source = source;
  }

  matrix(module: string): Matrix {
    const name = `${module}.weight`;
    const shape = this.source.shape(name);
    if (shape.length !== 2) throw new Error(`${name}: expected a matrix, shape is [${shape}]`);
    return { data: this.values(name), rows: shape[0], cols: shape[1] };
  }

  vector(module: string): Float64Array {
    const name = `${module}.weight`;
    const shape = this.source.shape(name);
    if (shape.length !== 1) throw new Error(`${name}: expected a vector, shape is [${shape}]`);
    return this.values(name);
  }

  bias(module: string): Float64Array | undefined {
    const name = `${module}.bias`;
    return this.source.has(name) ? this.values(name) : undefined;
  }

  private values(name: string): Float64Array {
    let values = this.widened.get(name);
    if (!values) {
      values = Float64Array.from(this.source.read(name));
      this.widened.set(name, values);
    }
    return values;
  }
}
