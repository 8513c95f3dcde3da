/** Causal self-attention of the reference: grouped heads (with gpt-oss sinks) and DeepSeek's latent attention. */
import type { HeadAttention, LatentAttention, ReferenceConfig } from './config.ts';
import { dot, rmsNorm, softmax } from './math.ts';
import { applyRope, type RopeFrequencies } from './rope.ts';
import type { LayerModules } from './weight-names.ts';
import { linear, type WideWeights } from './weights.ts';

/** DeepSeek's q_a_layernorm and kv_a_layernorm are built without rms_norm_eps, so they keep the class default. */
const LATENT_NORM_EPS = 1e-6;

/** What one layer's attention needs besides its inputs. */
export interface AttentionContext {
  model: ReferenceConfig;
  tensors: WideWeights;
  modules: LayerModules;
  rope: RopeFrequencies;
  /** A query at i sees keys j with i − j < window; null: every earlier key. */
  window: number | null;
}

/** One output per input position, before o_proj's caller adds it to the residual. */
export function selfAttention(context: AttentionContext, inputs: Float64Array[]): Float64Array[] {
  const { attention } = context.model;
  return attention.kind === 'heads' ? headAttention(context, attention, inputs) : latentAttention(context, attention, inputs);
}

function headAttention(context: AttentionContext, attention: HeadAttention, inputs: Float64Array[]): Float64Array[] {
  const { model, tensors, modules, rope } = context;
  const { numHeads, numKvHeads, headDim } = attention;
  let queries = inputs.map((x) => linear(tensors, modules.q, x));
  let keys = inputs.map((x) => linear(tensors, modules.k, x));
  const values = inputs.map((x) => linear(tensors, modules.v, x));
  if (attention.qkNorm === 'whole-projection') {
    const qNorm = tensors.vector(modules.qNorm);
    const kNorm = tensors.vector(modules.kNorm);
    queries = queries.map((q) => rmsNorm(q, qNorm, model.normEps));
    keys = keys.map((k) => rmsNorm(k, kNorm, model.normEps));
  } else if (attention.qkNorm === 'per-head') {
    normaliseHeads(queries, tensors.vector(modules.qNorm), numHeads, headDim, model.normEps);
    normaliseHeads(keys, tensors.vector(modules.kNorm), numKvHeads, headDim, model.normEps);
  }
  const clip = attention.clipQkv;
  if (clip !== null) {
    for (const vector of [...queries, ...keys, ...values]) vector.set(vector.map((v) => Math.min(Math.max(v, -clip), clip)));
  }
  queries.forEach((q, position) => {
    for (let h = 0; h < numHeads; h++) applyRope(q, h * headDim, position, rope, model.ropeLayout);
  });
  keys.forEach((k, position) => {
    for (let h = 0; h < numKvHeads; h++) applyRope(k, h * headDim, position, rope, model.ropeLayout);
  });

  const sinks = attention.sinks ? tensors.tensor(modules.sinks) : undefined;
  const headsPerKv = numHeads / numKvHeads;
  return queries.map((q, t) => {
    const visible = visibleKeys(t, context.window);
    const attended = new Float64Array(numHeads * headDim);
    for (let h = 0; h < numHeads; h++) {
      const queryHead = q.subarray(h * headDim, (h + 1) * headDim);
      const kvOffset = Math.floor(h / headsPerKv) * headDim;
      const scores = visible.map((s) => dot(queryHead, keys[s], kvOffset) * model.attentionScale);
      attentionProbabilities(scores, sinks?.[h]).forEach((p, i) => {
        for (let d = 0; d < headDim; d++) attended[h * headDim + d] += p * values[visible[i]][kvOffset + d];
      });
    }
    return linear(tensors, modules.o, attended);
  });
}

/**
 * Multi-head latent attention (HF DeepseekV2Attention / DeepseekV3Attention): per head, q = [q_nope | q_rope] from
 * q_proj or q_b(norm(q_a(x))); k_nope and v from kv_b(norm(c_kv)); one rotated k_rope, shared by all heads, from the
 * tail of kv_a_proj_with_mqa.
 */
function latentAttention(context: AttentionContext, attention: LatentAttention, inputs: Float64Array[]): Float64Array[] {
  const { model, tensors, modules, rope } = context;
  const { numHeads, kvLoraRank, nopeDim, ropeDim, valueDim } = attention;
  const latent = modules.latent;
  const qkDim = nopeDim + ropeDim;
  const keyValueDim = nopeDim + valueDim;
  const queries = inputs.map((x) => attention.qLoraRank === null
    ? linear(tensors, modules.q, x)
    : linear(tensors, latent.qB, rmsNorm(linear(tensors, latent.qA, x), tensors.vector(latent.qANorm), LATENT_NORM_EPS)));
  const compressed = inputs.map((x) => linear(tensors, latent.kvA, x));
  const kvANorm = tensors.vector(latent.kvANorm);
  // rmsNorm reads the first kvLoraRank entries (the weight's length); the last ropeDim are the shared rope key.
  const keyValues = compressed.map((c) => linear(tensors, latent.kvB, rmsNorm(c, kvANorm, LATENT_NORM_EPS)));
  const ropeKeys = compressed.map((c) => c.slice(kvLoraRank));
  queries.forEach((q, position) => {
    for (let h = 0; h < numHeads; h++) applyRope(q, h * qkDim + nopeDim, position, rope, model.ropeLayout);
  });
  ropeKeys.forEach((k, position) => applyRope(k, 0, position, rope, model.ropeLayout));

  return queries.map((q, t) => {
    const visible = visibleKeys(t, context.window);
    const attended = new Float64Array(numHeads * valueDim);
    for (let h = 0; h < numHeads; h++) {
      const queryNope = q.subarray(h * qkDim, h * qkDim + nopeDim);
      const queryRope = q.subarray(h * qkDim + nopeDim, (h + 1) * qkDim);
      const scores = visible.map((s) =>
        (dot(queryNope, keyValues[s], h * keyValueDim) + dot(queryRope, ropeKeys[s])) * model.attentionScale);
      softmax(scores).forEach((p, i) => {
        const valueOffset = h * keyValueDim + nopeDim;
        for (let d = 0; d < valueDim; d++) attended[h * valueDim + d] += p * keyValues[visible[i]][valueOffset + d];
      });
    }
    return linear(tensors, modules.o, attended);
  });
}

/** Key positions a query at `t` attends to, ascending. */
function visibleKeys(t: number, window: number | null): number[] {
  const first = window === null ? 0 : Math.max(0, t - window + 1);
  return Array.from({ length: t + 1 - first }, (_, i) => first + i);
}

/** Softmax over the scores; gpt-oss's sink logit joins the normalisation and takes no value. */
function attentionProbabilities(scores: number[], sink: number | undefined): Float64Array {
  return sink === undefined ? softmax(scores) : softmax([...scores, sink]).subarray(0, scores.length);
}

function normaliseHeads(vectors: Float64Array[], weight: Float64Array, heads: number, headDim: number, eps: number) {
  for (const vector of vectors) {
    for (let h = 0; h < heads; h++) vector.set(rmsNorm(vector, weight, eps, h * headDim), h * headDim);
  }
}
