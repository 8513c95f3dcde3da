import { shown } from './safetensors.ts';
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
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(key, `must be a non-negative integer, got ${shown(v)}`);
    return v;
  }

  num(key: string, fallback?: number): number {
    const v = this.raw[key] ?? fallback;
    if (v === undefined) this.fail(key, 'is missing');
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, `must be a number, got ${shown(v)}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, got ${shown(v)}`);
    return v;
  }

  intList(key: string): number[] {
    const v = this.raw[key] ?? [];
    if (!Array.isArray(v) || v.some((x) => !Number.isSafeInteger(x))) this.fail(key, `must be a list of integers, got ${shown(v)}`);
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
    const s = this.raw['rope_scaling'];
    if (s === undefined || s === null) return { theta, dim, interleaved, scaling: { type: 'default' } };
    if (typeof s !== 'object' || Array.isArray(s)) this.fail('rope_scaling', `must be an object, got ${shown(s)}`);
    const scaling = s as Record<string, unknown>;
    /** A rope_scaling number; `topLevel`: config.json's own key of that name stands in when rope_scaling lacks it. */
    const number = (key: string, fallback?: number, topLevel = false): number => {
      const v = scaling[key] ?? (topLevel ? this.raw[key] : undefined) ?? fallback;
      if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`rope_scaling.${key}`, `must be a number, got ${shown(v)}`);
      return v;
    };
    const positive = (key: string, fallback?: number, topLevel = false): number => {
      const v = number(key, fallback, topLevel);
      if (!(v > 0)) this.fail(`rope_scaling.${key}`, `must be positive, got ${v}`);
      return v;
    };
    const optional = (key: string) => (scaling[key] == null ? null : number(key));
    const type = scaling['rope_type'] ?? scaling['type'];
    const factor = () => positive('factor', 1);
    const originalMaxPositions = () => positive('original_max_position_embeddings', this.num('max_position_embeddings'));
    switch (type) {
      case 'default':
        return { theta, dim, interleaved, scaling: { type: 'default' } };
      case 'linear':
        return { theta, dim, interleaved, scaling: { type: 'linear', factor: factor() } };
      case 'llama3':
        return {
          theta, dim, interleaved,
          scaling: { type: 'llama3', factor: factor(), lowFreqFactor: number('low_freq_factor', 1), highFreqFactor: number('high_freq_factor', 4), originalMaxPositions: originalMaxPositions() },
        };
      case 'yarn': {
        // HF: a checkpoint that states its pretrained context (original_max_position_embeddings) gets the factor
        // from the two lengths, not from rope_scaling.factor (DeepSeek-V3 keeps both; they agree in released ones).
        const stated = scaling['original_max_position_embeddings'] == null ? null : originalMaxPositions();
        const statedFactor = factor();
        const truncate = scaling['truncate'] ?? true;
        if (typeof truncate !== 'boolean') this.fail('rope_scaling.truncate', `must be true or false, got ${shown(truncate)}`);
        return {
          theta, dim, interleaved,
          scaling: {
            type: 'yarn', factor: stated === null ? statedFactor : this.num('max_position_embeddings') / stated, originalMaxPositions: originalMaxPositions(),
            betaFast: number('beta_fast', 32), betaSlow: number('beta_slow', 1),
            attentionFactor: optional('attention_factor'),
            truncate,
            mscale: optional('mscale'),
            mscaleAllDim: optional('mscale_all_dim'),
          },
        };
      }
      case 'longrope': {
        const factors = (key: string) => {
          const v = scaling[key];
          if (!Array.isArray(v) || v.length !== dim / 2 || v.some((x) => typeof x !== 'number' || !(x > 0) || !Number.isFinite(x))) {
            this.fail(`rope_scaling.${key}`, `must list ${dim / 2} positive numbers (one per rotary frequency), got ${shown(v)}`);
          }
          return v as number[];
        };
        const original = positive('original_max_position_embeddings', undefined, true);
        // HF: without given mscales, √(1 + ln(scale)/ln(original)) with scale = max_position_embeddings / original.
        const scale = this.num('max_position_embeddings') / original;
        const fallback = scale <= 1 ? 1 : Math.sqrt(1 + Math.log(scale) / Math.log(original));
        return {
          theta, dim, interleaved,
          scaling: {
            type: 'longrope', shortFactor: factors('short_factor'), longFactor: factors('long_factor'), originalMaxPositions: original,
            shortMscale: optional('short_mscale') ?? fallback,
            longMscale: optional('long_mscale') ?? fallback,
          },
        };
      }
      default:
        return this.fail('rope_scaling', `type ${shown(type)} is not supported (supported: default, linear, llama3, yarn, longrope)`);
    }
  }
}
