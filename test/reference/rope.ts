/**
 * Rotary position embedding as HF transformers computes it (modeling_rope_utils `_compute_*_parameters`, then
 * `apply_rotary_pos_emb` with rotate-half), in float64.
 */
export interface RopeFrequencies {
  /** [headDim / 2] inverse frequencies. */
  invFreq: Float64Array;
  /** Scales cos and sin (YaRN's attention factor, LongRoPE's mscale; 1 otherwise). */
  attentionFactor: number;
}

export interface Rope extends RopeFrequencies {
  /** LongRoPE: the frequencies for sequences longer than `afterTokens` (the pretrained context). */
  long?: RopeFrequencies & { afterTokens: number };
}

/**
 * Where the two elements rotated together sit in a head: (i, i + d/2) with rotate-half, or (2i, 2i + 1) as in
 * DeepSeek's complex-number rope and its `rope_interleave` (which HF computes as a permute then rotate-half; the
 * permutation is the same for q and k, so their dot products equal the pairwise rotation's).
 */
export type RopeLayout = 'half' | 'pairs';

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
    case 'longrope':
      return longrope(base, config, params);
    default:
      throw new Error(`rope type ${String(type)} is not implemented in the reference`);
  }
}

/** The frequencies a whole sequence of `length` tokens is rotated with (LongRoPE switches past its context). */
export function ropeForLength(rope: Rope, length: number): RopeFrequencies {
  return rope.long && length > rope.long.afterTokens ? rope.long : rope;
}

/** Rotates one head in place: `vector[offset .. offset + headDim)` at `position`. */
export function applyRope(
  vector: Float64Array,
  offset: number,
  position: number,
  rope: RopeFrequencies,
  layout: RopeLayout = 'half',
): void {
  const half = rope.invFreq.length;
  for (let i = 0; i < half; i++) {
    const angle = position * rope.invFreq[i];
    const cos = Math.cos(angle) * rope.attentionFactor;
    const sin = Math.sin(angle) * rope.attentionFactor;
    const firstAt = layout === 'half' ? offset + i : offset + 2 * i;
    const secondAt = layout === 'half' ? offset + half + i : offset + 2 * i + 1;
    const first = vector[firstAt];
    const second = vector[secondAt];
    vector[firstAt] = first * cos - second * sin;
    vector[secondAt] = second * cos + first * sin;
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

/**
 * LongRoPE (Phi-3 / PhiMoE): each frequency divided by its short or long factor, cos and sin scaled by the short or
 * long mscale (PhiMoE's rotary embedding; Phi-3's default √(1 + ln(factor) / ln(original context)) otherwise).
 * HF picks the pair by the whole sequence length, which is what this reference always recomputes.
 */
function longrope(base: Float64Array, config: Record<string, unknown>, params: Record<string, unknown>): Rope {
  const originalContext = Number(params.original_max_position_embeddings ?? config.original_max_position_embeddings);
  if (!(originalContext > 0)) throw new Error('longrope needs original_max_position_embeddings');
  const factor = Number(config.max_position_embeddings) / originalContext;
  const defaultFactor = factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(originalContext));
  const frequencies = (factors: unknown, mscale: unknown): RopeFrequencies => {
    if (!Array.isArray(factors) || factors.length !== base.length) {
      throw new Error(`longrope factors must list ${base.length} numbers (head_dim / 2), got ${JSON.stringify(factors)}`);
    }
    const attentionFactor = Number(mscale ?? params.attention_factor ?? defaultFactor);
    return { invFreq: base.map((f, i) => f / Number(factors[i])), attentionFactor };
  };
  const short = frequencies(params.short_factor, params.short_mscale);
  return { ...short, long: { ...frequencies(params.long_factor, params.long_mscale), afterTokens: originalContext } };
}
