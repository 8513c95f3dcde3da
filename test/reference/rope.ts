/**
 * Rotary position embedding as HF transformers computes it (modeling_rope_utils `_compute_*_parameters`, then
 * `apply_rotary_pos_emb` with rotate-half), in float64.
 */
export interface Rope {
  /** [headDim / 2] inverse frequencies. */
  invFreq: Float64Array;
  /** Scales cos and sin (YaRN's attention factor; 1 otherwise). */
  attentionFactor: number;
}

/** Reads `rope_theta` + `rope_scaling` (transformers 4.x config.json) or `rope_parameters` (5.x). */
export function ropeFromConfig(config: Record<string, unknown>, headDim: number): Rope {
  const params = (config.rope_parameters ?? { ...(config.rope_scaling as object), rope_theta: config.rope_theta }) as
    Record<string, number | string | boolean | undefined>;
  const theta = Number(params.rope_theta);
  if (!(theta > 0)) throw new Error(`config has no usable rope_theta (got ${params.rope_theta})`);
  const type = params.rope_type ?? params.type ?? 'default';
  const base = defaultInvFreq(theta, headDim);
  switch (type) {
    case 'default':
      return { invFreq: base, attentionFactor: 1 };
    case 'linear':
      return { invFreq: base.map((f) => f / Number(params.factor)), attentionFactor: 1 };
    case 'llama3':
      return { invFreq: llama3InvFreq(base, params), attentionFactor: 1 };
    case 'yarn':
      return yarn(theta, headDim, Number(config.max_position_embeddings), params);
    default:
      throw new Error(`rope type ${String(type)} is not implemented in the reference`);
  }
}

/** Rotates one head in place: `vector[offset .. offset + headDim)` at `position`. */
export function applyRope(vector: Float64Array, offset: number, position: number, rope: Rope): void {
  const half = rope.invFreq.length;
  for (let i = 0; i < half; i++) {
    const angle = position * rope.invFreq[i];
    const cos = Math.cos(angle) * rope.attentionFactor;
    const sin = Math.sin(angle) * rope.attentionFactor;
    const first = vector[offset + i];
    const second = vector[offset + half + i];
    vector[offset + i] = first * cos - second * sin;
    vector[offset + half + i] = second * cos + first * sin;
  }
}

function defaultInvFreq(theta: number, dim: number): Float64Array {
  return Float64Array.from({ length: dim / 2 }, (_, i) => 1 / theta ** ((2 * i) / dim));
}

function llama3InvFreq(base: Float64Array, params: Record<string, unknown>): Float64Array {
  const factor = Number(params.factor);
  const lowFreqFactor = Number(params.low_freq_factor);
  const highFreqFactor = Number(params.high_freq_factor);
  const oldContext = Number(params.original_max_position_embeddings);
  const lowFreqWavelen = oldContext / lowFreqFactor;
  const highFreqWavelen = oldContext / highFreqFactor;
  return base.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highFreqWavelen) return f;
    if (wavelen > lowFreqWavelen) return f / factor;
    const smooth = (oldContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

function yarn(theta: number, dim: number, maxPositions: number, params: Record<string, unknown>): Rope {
  let factor = Number(params.factor);
  let originalMaxPositions = maxPositions;
  // As in HF: a checkpoint that states its pretrained context derives the factor from the two lengths.
  if (params.original_max_position_embeddings !== undefined && params.original_max_position_embeddings !== null) {
    originalMaxPositions = Number(params.original_max_position_embeddings);
    factor = maxPositions / originalMaxPositions;
  }
  const mscale = (scale: number, m = 1) => (scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1);
  let attentionFactor = params.attention_factor as number | undefined | null;
  if (attentionFactor === undefined || attentionFactor === null) {
    attentionFactor = params.mscale && params.mscale_all_dim
      ? mscale(factor, Number(params.mscale)) / mscale(factor, Number(params.mscale_all_dim))
      : mscale(factor);
  }
  const betaFast = Number(params.beta_fast || 32);
  const betaSlow = Number(params.beta_slow || 1);
  const truncate = params.truncate ?? true;
  const correctionDim = (rotations: number) =>
    (dim * Math.log(originalMaxPositions / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
  let low = correctionDim(betaFast);
  let high = correctionDim(betaSlow);
  if (truncate) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, dim - 1);
  if (low === high) high += 0.001;
  const invFreq = defaultInvFreq(theta, dim).map((extrapolated, i) => {
    const ramp = Math.min(Math.max((i - low) / (high - low), 0), 1);
    const extrapolationWeight = 1 - ramp;
    return (extrapolated / factor) * (1 - extrapolationWeight) + extrapolated * extrapolationWeight;
  });
  return { invFreq, attentionFactor };
}
