import { PRECISIONS, type Precision } from '../protocol/types.ts';
import { QUANT_BLOCK } from './onnx/quantize.ts';
import type { WeightSource } from './weights.ts';

export { PRECISIONS, type Precision };

/** How one class of weights is stored. 'f16' only for the embedding table. */
export type WeightFormat = 'f32' | 'f16' | 'int8' | 'int4';
export type MatrixFormat = Exclude<WeightFormat, 'f16'>;

/**
 * Per tensor class. Router weights, norms and biases are always float32 (routing fidelity is the product; they are
 * small). A matrix whose input dimension is not a multiple of a quantisation block stays float32 whatever its class
 * says.
 */
export interface PrecisionPlan {
  /** Routed experts: the MoE op (f32) or QMoE (int8/int4). */
  experts: MatrixFormat;
  /** Attention projections, shared experts and dense MLPs: Gemm (f32) or MatMulNBits (int8/int4). */
  dense: MatrixFormat;
  lmHead: MatrixFormat;
  /** The embedding table: Gather (f32), Gather + Cast (f16) or GatherBlockQuantized (int8/int4). */
  embed: WeightFormat;
}

/**
 * int4 keeps the LM head at int8 as llama.cpp's Q4_0 keeps its output matrix wider (logits are what sampling and
 * every analysis read); the embedding table is int4 as Q4_0's is. With tied embeddings one table serves both, at
 * the LM head's format. bf16-as-f32 holds float32 weights (rounded to bfloat16 first).
 */
export const PRECISION_PLANS: Record<Precision, PrecisionPlan> = {
  'f32': { experts: 'f32', dense: 'f32', lmHead: 'f32', embed: 'f32' },
  'bf16-as-f32': { experts: 'f32', dense: 'f32', lmHead: 'f32', embed: 'f32' },
  'int8': { experts: 'int8', dense: 'int8', lmHead: 'int8', embed: 'int8' },
  'int4': { experts: 'int4', dense: 'int4', lmHead: 'int8', embed: 'int4' },
};

/** What `auto` tries, widest first. */
export const AUTO_PRECISIONS: readonly Precision[] = ['f32', 'int8', 'int4'];

export function parsePrecision(value: string, source: string): Precision | 'auto' {
  if (value === 'auto' || (PRECISIONS as readonly string[]).includes(value)) return value as Precision | 'auto';
  throw new Error(`${source}: precision must be one of auto, ${PRECISIONS.join(', ')}; got ${JSON.stringify(value)}`);
}

export const bitsOf = (format: 'int8' | 'int4'): 4 | 8 => (format === 'int8' ? 8 : 4);

/**
 * The quantisation block for a matrix with `cols` inputs: 32 (what QMoE's fast int4 path and llama.cpp use), or 16
 * for the narrow matrices of tiny test models; null when neither divides it (the matrix stays float32).
 */
export function quantBlock(...cols: number[]): number | null {
  for (const block of [QUANT_BLOCK, 16]) if (cols.every((c) => c > 0 && c % block === 0)) return block;
  return null;
}

/** Rounds float32 values to the nearest bfloat16 (ties to even), in place. */
export function roundToBf16(values: Float32Array): Float32Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    if ((b & 0x7f800000) === 0x7f800000) continue; // inf, NaN
    bits[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) << 16;
  }
  return values;
}

/** A checkpoint's weights as its bfloat16 release would hold them. */
export function bf16Weights(source: WeightSource): WeightSource {
  return {
    names: () => source.names(),
    has: (name) => source.has(name),
    shape: (name) => source.shape(name),
    read: (name) => roundToBf16(source.read(name)),
    readBytes: (name) => source.readBytes(name),
  };
}
