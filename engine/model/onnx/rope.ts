import type { RopeSpec } from '../spec.ts';

export interface RopeTables {
  /** Inverse frequencies [dim/2]. */
  invFreq: Float32Array;
  /** Multiplies cos and sin. */
  attentionFactor: number;
  /** longrope: the tables used once the sequence (last position + 1) exceeds `after` tokens. */
  long?: { invFreq: Float32Array; attentionFactor: number; after: number };
}

/** yarn's magnitude scale m(x) = 0.1·x·ln(factor) + 1 (1 when not extending). */
export function yarnMscale(factor: number, mscale = 1): number {
  return factor <= 1 ? 1 : 0.1 * mscale * Math.log(factor) + 1;
}

/** Inverse frequencies and the attention factor applied to cos/sin, as HF's rope init functions compute them. */
export function ropeParameters(rope: RopeSpec): RopeTables {
  const half = rope.dim / 2;
  const base = Array.from({ length: half }, (_, i) => 1 / rope.theta ** ((2 * i) / rope.dim));
  const s = rope.scaling;
  switch (s.type) {
    case 'default':
      return { invFreq: Float32Array.from(base), attentionFactor: 1 };
    case 'linear':
      return { invFreq: Float32Array.from(base, (f) => f / s.factor), attentionFactor: 1 };
    case 'llama3': {
      const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
      const highWavelen = s.originalMaxPositions / s.highFreqFactor;
      const inv = base.map((f) => {
        const wavelen = (2 * Math.PI) / f;
        if (wavelen > lowWavelen) return f / s.factor;
        if (wavelen < highWavelen) return f;
        const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        return (1 - smooth) * (f / s.factor) + smooth * f;
      });
      return { invFreq: Float32Array.from(inv), attentionFactor: 1 };
    }
    case 'yarn': {
      const findDim = (rotations: number) =>
        (rope.dim * Math.log(s.originalMaxPositions / (rotations * 2 * Math.PI))) / (2 * Math.log(rope.theta));
      let low = findDim(s.betaFast);
      let high = findDim(s.betaSlow);
      if (s.truncate) {
        low = Math.floor(low);
        high = Math.ceil(high);
      }
      low = Math.max(low, 0);
      high = Math.min(high, rope.dim - 1);
      if (low === high) high += 0.001;
      const inv = base.map((f, i) => {
        const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
        const extrapolationFactor = 1 - ramp;
        return (f / s.factor) * (1 - extrapolationFactor) + f * extrapolationFactor;
      });
      const attentionFactor = s.attentionFactor ??
        (s.mscale && s.mscaleAllDim ? yarnMscale(s.factor, s.mscale) / yarnMscale(s.factor, s.mscaleAllDim) : yarnMscale(s.factor));
      return { invFreq: Float32Array.from(inv), attentionFactor };
    }
    case 'longrope': {
      const divided = (factors: number[]) => Float32Array.from(base, (f, i) => f / factors[i]);
      return {
        invFreq: divided(s.shortFactor),
        attentionFactor: s.shortMscale,
        long: { invFreq: divided(s.longFactor), attentionFactor: s.longMscale, after: s.originalMaxPositions },
      };
    }
  }
}
