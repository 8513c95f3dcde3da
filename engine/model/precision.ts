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
  /** Attention projections, shared experts and dense MLPs: Gemm (f32) or MatMulNBits (int8/int4; unused, see below). */
  dense: MatrixFormat;
  lmHead: MatrixFormat;
  /** The embedding table: Gather (f32), Gather + Cast (f16) or GatherBlockQuantized (int8/int4). */
  embed: WeightFormat;
}

/**
 * Measured on the demo model (6 chat prompts × 24 greedy tokens, routing agreement with float32 over every expert
 * slot; engine/runtime/fidelity.ts):
 * - Routed experts carry the bytes and quantise well: int8 experts alone 99.95 %, int4 98.3 %.
 * - Dense projections (attention, shared experts, dense MLPs) feed every router, and quantising them is what moves
 *   routing: MatMulNBits int8 at accuracy_level 4 (int8 activations) 97.5 %; weight-only int8 (level 0) 99.5 % but
 *   it dequantises the whole matrix on every call on x86 (100× slower than Gemm); int4 weight-only 93 %. So they
 *   stay float32: a small share of a MoE model's weights (OLMoE-1B-7B 4 %, Qwen3-30B-A3B 3 %).
 * - The LM head only shapes the logits: int8 (as llama.cpp's Q4_0 keeps its output matrix wider than 4 bits).
 * - The embedding table is float16: a quantised one moved int8 routing from 100 % to 98.7 % on one prompt.
 * With tied embeddings one table serves both lookup and head, at the LM head's format. bf16-as-f32 holds float32
 * weights rounded to bfloat16.
 */
export const PRECISION_PLANS: Record<Precision, PrecisionPlan> = {
  'f32': { experts: 'f32', dense: 'f32', lmHead: 'f32', embed: 'f32' },
  'bf16-as-f32': { experts: 'f32', dense: 'f32', lmHead: 'f32', embed: 'f32' },
  'int8': { experts: 'int8', dense: 'f32', lmHead: 'int8', embed: 'f16' },
  'int4': { experts: 'int4', dense: 'f32', lmHead: 'int8', embed: 'f16' },
};

/** What `auto` tries, widest first. */
export const AUTO_PRECISIONS: readonly Precision[] = ['f32', 'int8', 'int4'];

export function parsePrecision(value: string, source: string): Precision | 'auto' {
  if (value === 'auto' || (PRECISIONS as readonly string[]).includes(value)) return value as Precision | 'auto';
  throw new Error(`${source}: precision must be one of auto, ${PRECISIONS.join(', ')}; got ${JSON.stringify(value)}`);
}

export const bitsOf = (format: 'int8' | 'int4'): 4 | 8 => (format === 'int8' ? 8 : 4);

/**
 * The quantisation block for matrices with these input widths: 32 (what QMoE's fast int4 path and llama.cpp use),
 * or 16 for the narrow matrices of tiny test models; null when neither fits (the matrices stay float32). Each width
 * must hold at least two blocks: onnxruntime 1.30's QMoE takes scales with one block per row for per-channel ones
 * and then rejects the other matrix's shape.
 */
export function quantBlock(...cols: number[]): number | null {
  for (const block of [QUANT_BLOCK, 16]) if (cols.every((c) => c % block === 0 && c >= 2 * block)) return block;
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
