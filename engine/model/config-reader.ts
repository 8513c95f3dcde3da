import type { RopeSpec } from './spec.ts';

/** Typed access to config.json values with errors that name the file and key. */
export class ConfigReader {
  constructor(readonly file: string, readonly raw: Record<string, unknown>) {}

  private fail(key: string, problem: string): never {
    throw new Error(`${this.file}: ${key} ${problem}`);
  }

  int(key: string, fallback?: number): number {
    const v = this.raw[key] ?? fallback;
    if (v === undefined) this.fail(key, 'is missing');
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) this.fail(key, `must be a non-negative integer, got ${JSON.stringify(v)}`);
    return v;
  }

  num(key: string, fallback?: number): number {
    const v = this.raw[key] ?? fallback;
    if (v === undefined) this.fail(key, 'is missing');
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, `must be a number, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  intList(key: string): number[] {
    const v = this.raw[key] ?? [];
    if (!Array.isArray(v) || v.some((x) => !Number.isInteger(x))) this.fail(key, `must be a list of integers, got ${JSON.stringify(v)}`);
    return v as number[];
  }

  optionalInt(key: string): number | null {
    const v = this.raw[key];
    return v === undefined || v === null ? null : this.int(key);
  }

  tokenIds(key: string): number[] {
    const v = this.raw[key];
    if (v === undefined || v === null) return [];
    return Array.isArray(v) ? this.intList(key) : [this.int(key)];
  }

  /** `dim` rotary dimensions per head, rotated in halves or (interleaved) in adjacent pairs. */
  rope(dim: number, interleaved = false): RopeSpec {
    const theta = this.num('rope_theta', 10000);
    const s = this.raw['rope_scaling'] as Record<string, unknown> | null | undefined;
    if (!s) return { theta, dim, interleaved, scaling: { type: 'default' } };
    const type = (s['rope_type'] ?? s['type']) as string;
    const factor = Number(s['factor'] ?? 1);
    const originalMaxPositions = Number(s['original_max_position_embeddings'] ?? this.raw['max_position_embeddings']);
    switch (type) {
      case 'default':
        return { theta, dim, interleaved, scaling: { type: 'default' } };
      case 'linear':
        return { theta, dim, interleaved, scaling: { type: 'linear', factor } };
      case 'llama3':
        return {
          theta, dim, interleaved,
          scaling: { type: 'llama3', factor, lowFreqFactor: Number(s['low_freq_factor'] ?? 1), highFreqFactor: Number(s['high_freq_factor'] ?? 4), originalMaxPositions },
        };
      case 'yarn': {
        // HF: a checkpoint that states its pretrained context (original_max_position_embeddings) gets the factor
        // from the two lengths, not from rope_scaling.factor (DeepSeek-V3 keeps both; they agree in released ones).
        const stated = s['original_max_position_embeddings'];
        const yarnFactor = stated == null ? factor : Number(this.raw['max_position_embeddings']) / Number(stated);
        return {
          theta, dim, interleaved,
          scaling: {
            type: 'yarn', factor: yarnFactor, originalMaxPositions,
            betaFast: Number(s['beta_fast'] ?? 32), betaSlow: Number(s['beta_slow'] ?? 1),
            attentionFactor: s['attention_factor'] == null ? null : Number(s['attention_factor']),
            truncate: s['truncate'] === undefined ? true : Boolean(s['truncate']),
            mscale: s['mscale'] == null ? null : Number(s['mscale']),
            mscaleAllDim: s['mscale_all_dim'] == null ? null : Number(s['mscale_all_dim']),
          },
        };
      }
      case 'longrope': {
        const factors = (key: string) => {
          const v = s[key];
          if (!Array.isArray(v) || v.length !== dim / 2 || v.some((x) => typeof x !== 'number' || !(x > 0))) {
            this.fail(`rope_scaling.${key}`, `must list ${dim / 2} positive numbers (one per rotary frequency), got ${JSON.stringify(v)}`);
          }
          return v as number[];
        };
        const original = Number(s['original_max_position_embeddings'] ?? this.raw['original_max_position_embeddings']);
        if (!(original > 0)) this.fail('rope_scaling', 'longrope needs original_max_position_embeddings');
        // HF: without given mscales, √(1 + ln(scale)/ln(original)) with scale = max_position_embeddings / original.
        const scale = Number(this.raw['max_position_embeddings']) / original;
        const fallback = scale <= 1 ? 1 : Math.sqrt(1 + Math.log(scale) / Math.log(original));
        return {
          theta, dim, interleaved,
          scaling: {
            type: 'longrope', shortFactor: factors('short_factor'), longFactor: factors('long_factor'), originalMaxPositions: original,
            shortMscale: s['short_mscale'] == null ? fallback : Number(s['short_mscale']),
            longMscale: s['long_mscale'] == null ? fallback : Number(s['long_mscale']),
          },
        };
      }
      default:
        return this.fail('rope_scaling', `type ${JSON.stringify(type)} is not supported (supported: default, linear, llama3, yarn, longrope)`);
    }
  }
}
