import type { RopeSpec } from '../spec.ts';

/** Inverse frequencies [dim/2] and the attention factor applied to cos/sin, as HF's rope init functions compute them. */
export function ropeParameters(rope: RopeSpec): { invFreq: Float32Array; attentionFactor: number } {
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
      const attentionFactor = s.attentionFactor ?? (s.factor <= 1 ? 1 : 0.1 * Math.log(s.factor) + 1);
      return { invFreq: Float32Array.from(inv), attentionFactor };
    }
  }
}
