/**
 * An independent float64 forward pass of the HF transformers modeling code for Mixtral, Qwen2-MoE, Qwen3-MoE, OLMoE,
 * DeepSeek-V2/V3, gpt-oss, Granite-MoE and Phi-3.5-MoE, with routing capture and steering (DESIGN §4–5). Written
 * for clarity: no KV cache, plain loops.
 */
import type { WeightSource } from '../../engine/model/weights.ts';
import type { ExpertMask } from '../../engine/steering/mask.ts';
import { selfAttention } from './attention.ts';
import { parseReferenceConfig, type ReferenceConfig } from './config.ts';
import { addScaled, argmax, layerNorm, matVec, rmsNorm, sigmoid, silu } from './math.ts';
import { ropeForLength } from './rope.ts';
import { routeToken, steeringByLayer, type LayerRouter, type LayerSteering } from './routing.ts';
import { layerModules, type LayerModules, type MlpModules } from './weight-names.ts';
import { linear, WideWeights } from './weights.ts';

export interface ReferenceRouting {
  /** Decoder-layer index. */
  layer: number;
  /** Per token: [numExperts] router logits as the router computed them (steering does not change them). */
  routerLogits: Float64Array[];
  /** Per token: the experts that ran, forced first (in mask order), then best first; fewer than k in drop mode. */
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

/** gpt-oss's clamped SwiGLU: glu = gate · σ(alpha · gate) with gate ≤ limit, times (up + 1) with |up| ≤ limit. */
const GPT_OSS_ALPHA = 1.702;
const GPT_OSS_LIMIT = 7;

/** `config` is config.json as parsed; `ids` the whole sequence (no BOS is added). */
export function referenceForward(
  config: Record<string, unknown>,
  weights: WeightSource,
  ids: number[],
  mask?: ExpertMask,
): ReferenceForwardResult {
  const model = parseReferenceConfig(config);
  const steering = steeringByLayer(mask, model);
  const tensors = new WideWeights(weights);
  const rope = ropeForLength(model.rope, ids.length);
  const hidden = embed(model, tensors, ids);
  const routing: ReferenceRouting[] = [];
  for (let layer = 0; layer < model.numLayers; layer++) {
    const modules = layerModules(model.family, layer);
    const attentionInputs = hidden.map((x) => norm(model, tensors, modules.inputNorm, x));
    const attended = selfAttention({ model, tensors, modules, rope, window: model.attentionWindows[layer] }, attentionInputs);
    attended.forEach((out, t) => addScaled(hidden[t], out, model.residualMultiplier));

    const mlpInputs = hidden.map((x) => norm(model, tensors, modules.postAttentionNorm, x));
    let mlpOutputs: Float64Array[];
    if (model.moeLayers.includes(layer)) {
      const moe = sparseMoe(model, tensors, modules, mlpInputs, steering.get(layer));
      routing.push({ layer, ...moe.routing });
      mlpOutputs = moe.outputs;
    } else {
      mlpOutputs = mlpInputs.map((x) => swiGlu(tensors, modules.denseMlp, x));
    }
    mlpOutputs.forEach((out, t) => addScaled(hidden[t], out, model.residualMultiplier));
  }
  // Tied embeddings share the weight only; an LM head bias (PhiMoE) stays lm_head.bias.
  const headWeight = model.tieWordEmbeddings ? 'model.embed_tokens' : 'lm_head';
  const headBias = tensors.bias('lm_head');
  const logits = hidden.map((x) => {
    const z = linear(tensors, headWeight, norm(model, tensors, 'model.norm', x));
    if (model.tieWordEmbeddings && headBias) addScaled(z, headBias);
    return z.map((v) => v / model.logitsScaling);
  });
  return { logits, routing };
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

function embed(model: ReferenceConfig, tensors: WideWeights, ids: number[]): Float64Array[] {
  const embedding = tensors.matrix('model.embed_tokens');
  return ids.map((id) => {
    if (!(Number.isInteger(id) && id >= 0 && id < embedding.rows)) throw new Error(`token id ${id} out of range`);
    return embedding.data.slice(id * embedding.cols, (id + 1) * embedding.cols).map((v) => v * model.embeddingMultiplier);
  });
}

function norm(model: ReferenceConfig, tensors: WideWeights, module: string, x: Float64Array): Float64Array {
  const weight = tensors.vector(module);
  if (model.norm === 'rms') return rmsNorm(x, weight, model.normEps);
  const bias = tensors.bias(module);
  if (!bias) throw new Error(`${module}: LayerNorm without a bias`);
  return layerNorm(x, weight, bias, model.normEps);
}

function sparseMoe(
  model: ReferenceConfig,
  tensors: WideWeights,
  modules: LayerModules,
  inputs: Float64Array[],
  steering: LayerSteering | undefined,
): { outputs: Float64Array[]; routing: Omit<ReferenceRouting, 'layer'> } {
  const router: LayerRouter = {
    rule: model.router,
    topK: model.topK,
    correctionBias: model.router.kind === 'deepseek-v3' ? tensors.tensor(modules.correctionBias) : undefined,
  };
  const routing: Omit<ReferenceRouting, 'layer'> = { routerLogits: [], selected: [], weights: [] };
  const outputs = inputs.map((x) => {
    const logits = linear(tensors, modules.router, x);
    const route = routeToken(router, logits, steering);
    routing.routerLogits.push(logits);
    routing.selected.push(route.selected);
    routing.weights.push(route.weights);
    const out = new Float64Array(model.hiddenSize);
    route.selected.forEach((expert, i) => addScaled(out, expertOutput(model, tensors, modules, expert, x), route.weights[i]));
    if (model.sharedExperts === 'plain') addScaled(out, swiGlu(tensors, modules.sharedExpert, x));
    if (model.sharedExperts === 'gated') {
      const gate = sigmoid(matVec(tensors.matrix(modules.sharedExpertGate), x)[0]);
      addScaled(out, swiGlu(tensors, modules.sharedExpert, x), gate);
    }
    return out;
  });
  return { outputs, routing };
}

function expertOutput(model: ReferenceConfig, tensors: WideWeights, modules: LayerModules, expert: number, x: Float64Array): Float64Array {
  switch (model.expertLayout) {
    case 'modules':
      return swiGlu(tensors, modules.expert(expert), x);
    case 'gpt-oss':
      return gptOssExpert(tensors, modules, expert, x);
    case 'granite':
      return graniteExpert(tensors, modules, expert, x);
  }
}

/** down(silu(gate · x) * (up · x)). */
function swiGlu(tensors: WideWeights, mlp: MlpModules, x: Float64Array): Float64Array {
  const gate = linear(tensors, mlp.gate, x);
  const up = linear(tensors, mlp.up, x);
  return linear(tensors, mlp.down, gate.map((g, i) => silu(g) * up[i]));
}

/**
 * HF GptOssExperts: gate_up = x @ gate_up_proj[e] + bias with gate and up interleaved (gate = [::2], up = [1::2]),
 * clamped SwiGLU, then @ down_proj[e] + bias. HF's tensors are [E, in, out].
 */
function gptOssExpert(tensors: WideWeights, modules: LayerModules, expert: number, x: Float64Array): Float64Array {
  const { gateUp, down } = modules.stackedExperts;
  const projected = matVec(tensors.expertMatrix(gateUp, expert, 'in-out'), x);
  addScaled(projected, tensors.row(`${gateUp}_bias`, expert));
  const gated = new Float64Array(projected.length / 2).map((_, i) => {
    const gate = Math.min(projected[2 * i], GPT_OSS_LIMIT);
    const up = Math.min(Math.max(projected[2 * i + 1], -GPT_OSS_LIMIT), GPT_OSS_LIMIT);
    return (up + 1) * gate * sigmoid(GPT_OSS_ALPHA * gate);
  });
  const out = matVec(tensors.expertMatrix(down, expert, 'in-out'), gated);
  addScaled(out, tensors.row(`${down}_bias`, expert));
  return out;
}

/** HF GraniteMoeParallelExperts: input_linear[e] · x = [gate (first I rows) | up], silu(gate) · up, output_linear[e]. */
function graniteExpert(tensors: WideWeights, modules: LayerModules, expert: number, x: Float64Array): Float64Array {
  const { gateUp, down } = modules.stackedExperts;
  const projected = matVec(tensors.expertMatrix(gateUp, expert, 'out-in'), x);
  const width = projected.length / 2;
  const gated = projected.subarray(0, width).map((g, i) => silu(g) * projected[width + i]);
  return matVec(tensors.expertMatrix(down, expert, 'out-in'), gated);
}
