import { type GraphBuilder, float } from './graph.ts';

/**
 * Block quantisation of weights for onnxruntime's CPU kernels (DESIGN §4), and the graph pieces that consume it.
 *
 * One encoding serves every quantised op: a float32 matrix [rows, cols] (row-major, PyTorch's [out, in]) is cut into
 * blocks of `blockSize` consecutive values along a row (the input dimension). Per block, with B = 2^(bits−1):
 *   scale = m / −B, where m is the block's value of largest magnitude, sign included (the first one on ties);
 *   q     = clamp(round(v / scale) + B, 0, 2^bits − 1)        (round half up; an all-zero block has scale 0, q = B)
 *   v'    = scale · (q − B)                                    (dequantised, float32)
 * This is MLAS's BlkQ4Sym rule (onnxruntime/core/mlas/lib/q4_dq.cpp, MlasQ4GemmPackBImpl), extended to 8 bits; at
 * 4 bits it is also llama.cpp's Q4_0 (there with a float16 scale). It
 * matters for QMoE int4: with ORT_USE_MLAS_Q4_GEMM_MOE=1 the kernel dequantises each expert and re-quantises it with
 * that rule into MLAS's own Q4 blobs, which is lossless only for weights already quantised by it (the block's
 * largest value sits at q = 0, so the re-derived scale is the same). Other symmetric rules lose accuracy there,
 * which is why ORT turns the fast path off by default for symmetric 4-bit weights.
 *
 * Bytes: data [rows, cols·bits/8], row-major; 4-bit values two per byte, even column in the low nibble. Scales
 * [rows, cols/blockSize] float32. No zero points are stored: every kernel defaults the zero point to B. The same
 * bytes are a MatMulNBits B ([N, K/blockSize, blockSize·bits/8]), one expert of a QMoE fc weight, and a
 * GatherBlockQuantized table.
 */

export type QuantBits = 4 | 8;
/** The block size every quantised tensor uses (ORT's MLAS Q4 MoE path supports 32, 64 and 128). */
export const QUANT_BLOCK = 32;

export interface QuantizedMatrix {
  rows: number;
  cols: number;
  bits: QuantBits;
  blockSize: number;
  /** rows × cols·bits/8 bytes. */
  data: Uint8Array;
  /** rows × cols/blockSize scales. */
  scales: Float32Array;
}

function checkShape(cols: number, bits: QuantBits, blockSize: number): void {
  if (bits !== 4 && bits !== 8) throw new Error(`quantisation: bits must be 4 or 8, got ${bits}`);
  if (!(blockSize >= 16 && (blockSize & (blockSize - 1)) === 0)) throw new Error(`quantisation: block size ${blockSize} is not a power of two ≥ 16`);
  if (cols % blockSize !== 0) throw new Error(`quantisation: ${cols} columns are not a multiple of the block size ${blockSize}`);
}

/** Bytes of one quantised matrix: data plus float32 scales. */
export function quantizedBytes(rows: number, cols: number, bits: QuantBits, blockSize = QUANT_BLOCK): number {
  return (rows * cols * bits) / 8 + (rows * cols / blockSize) * 4;
}

/** Quantises whole rows of `values` ([rows, cols], rows = values.length / cols). */
export function quantizeMatrix(values: Float32Array, cols: number, bits: QuantBits, blockSize = QUANT_BLOCK): QuantizedMatrix {
  checkShape(cols, bits, blockSize);
  if (values.length % cols !== 0) throw new Error(`quantisation: ${values.length} values are not whole rows of ${cols}`);
  const rows = values.length / cols;
  const mid = 1 << (bits - 1);
  const top = (1 << bits) - 1;
  const blocks = values.length / blockSize;
  const data = new Uint8Array((values.length * bits) / 8);
  const scales = new Float32Array(blocks);
  const q = new Uint8Array(blockSize);
  for (let b = 0; b < blocks; b++) {
    const start = b * blockSize;
    let peak = 0;
    let magnitude = 0;
    for (let i = 0; i < blockSize; i++) {
      const v = values[start + i];
      if (Math.abs(v) > magnitude) {
        magnitude = Math.abs(v);
        peak = v;
      }
    }
    const scale = peak === 0 ? 0 : Math.fround(peak / -mid);
    scales[b] = scale;
    for (let i = 0; i < blockSize; i++) {
      const level = scale === 0 ? mid : Math.round(values[start + i] / scale) + mid;
      q[i] = level < 0 ? 0 : level > top ? top : level;
    }
    if (bits === 8) {
      data.set(q, start);
    } else {
      const at = start / 2;
      for (let i = 0; i < blockSize; i += 2) data[at + i / 2] = q[i] | (q[i + 1] << 4);
    }
  }
  return { rows, cols, bits, blockSize, data, scales };
}

/** The float32 values a kernel computes with: scale · (q − B), each rounded to float32 as ORT does. */
export function dequantizeMatrix(m: QuantizedMatrix): Float32Array {
  const { rows, cols, bits, blockSize, data, scales } = m;
  const mid = 1 << (bits - 1);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < out.length; i++) {
    const level = bits === 8 ? data[i] : (data[i >> 1] >> ((i & 1) * 4)) & 15;
    out[i] = scales[Math.floor(i / blockSize)] * (level - mid);
  }
  return out;
}

/**
 * Quantises a stream of float32 chunks, each whole rows of `cols` (one expert, or some rows of a large matrix), one
 * chunk at a time: `data()` yields each chunk's bytes as it is quantised and keeps only its scales (1/32 of the
 * chunk's float32 bytes); `scales()`, called once `data()` has run to its end, yields those. That is the order in
 * which the graph builder writes the two tensors, so no more than one float32 chunk exists at a time.
 */
export function quantizeChunks(chunks: () => Iterable<Float32Array>, cols: number, bits: QuantBits, blockSize = QUANT_BLOCK):
  { data: () => Iterable<Uint8Array>; scales: () => Iterable<Float32Array> } {
  checkShape(cols, bits, blockSize);
  let pending: Float32Array[] | null = null;
  return {
    *data() {
      const scales: Float32Array[] = [];
      for (const chunk of chunks()) {
        const q = quantizeMatrix(chunk, cols, bits, blockSize);
        scales.push(q.scales);
        yield q.data;
      }
      pending = scales;
    },
    *scales() {
      if (!pending) throw new Error('internal: quantised scales requested before their data was written');
      const scales = pending;
      pending = null;
      yield* scales;
    },
  };
}

/** float32 → IEEE half bits, round to nearest even (overflow → ±infinity). */
export function toFloat16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    const sign = (b >>> 16) & 0x8000;
    const exponent = (b >>> 23) & 0xff;
    const mantissa = b & 0x7fffff;
    if (exponent === 0xff) {
      out[i] = sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
      continue;
    }
    const e = exponent - 127 + 15;
    if (e >= 0x1f) out[i] = sign | 0x7c00;
    else if (e <= 0) out[i] = e < -10 ? sign : sign | shiftRoundEven(mantissa | 0x800000, 14 - e);
    else out[i] = sign | shiftRoundEven((e << 23) | mantissa, 13); // a mantissa carry bumps the exponent correctly
  }
  return out;
}

function shiftRoundEven(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

/** IEEE half bits → float32 (exact). */
export function fromFloat16(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) {
    const h = halves[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    out[i] = exponent === 0 ? sign * mantissa * 2 ** -24
      : exponent === 0x1f ? (mantissa === 0 ? sign * Infinity : Number.NaN)
        : sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Graph pieces. Each quantised weight is written once to the shared external data file (ExternalWeights caches
// by name), so every graph variant that uses it shares one copy.

/** A quantised [rows, cols] matrix in the graph: data [rows, cols/block, block·bits/8] uint8, scales [rows, cols/block]. */
export interface QuantizedWeight {
  data: string;
  scales: string;
  rows: number;
  cols: number;
  bits: QuantBits;
  blockSize: number;
}

/**
 * Adds a matrix [rows, cols] given as chunks of whole rows (one chunk is fine) as a quantised weight named
 * `${name}.q${bits}` (+ `.scales`); quantised on first use only.
 */
export function quantizedWeight(g: GraphBuilder, name: string, rows: number, cols: number, chunks: () => Iterable<Float32Array>,
  bits: QuantBits, blockSize = QUANT_BLOCK): QuantizedWeight {
  const q = quantizeChunks(chunks, cols, bits, blockSize);
  const blocks = cols / blockSize;
  const data = g.weight(`${name}.q${bits}`, [rows, blocks, (blockSize * bits) / 8], q.data, 'uint8');
  const scales = g.weight(`${name}.q${bits}.scales`, [rows, blocks], q.scales);
  return { data, scales, rows, cols, bits, blockSize };
}

/**
 * MatMulNBits accuracy_level: 4 quantises the activations to int8 per block and uses integer dot products (MLAS
 * CompInt8; adds ~0.5 % relative error); 0 keeps float32 activations (CompFp32). On x86-64, onnxruntime 1.30 has no
 * CompFp32 kernel for 8-bit weights: level 0 then dequantises the whole matrix on every call (1.6 s for a
 * 2048 × 50304 head instead of 3.6 ms), so 4 is the default. See bench/quantized-layer.ts.
 */
export type AccuracyLevel = 0 | 4;

/** x [..., cols] · Wᵀ (+ bias [rows]) → [..., rows]: what Gemm(x, W, transB=1) computes, with W quantised. */
export function matMulNBits(g: GraphBuilder, x: string, w: QuantizedWeight, options: { bias?: string; accuracyLevel?: AccuracyLevel } = {}): string {
  const inputs = [x, w.data, w.scales];
  if (options.bias) inputs.push('', '', options.bias); // zero_points, g_idx unused
  return g.op1('MatMulNBits', inputs, {
    K: w.cols, N: w.rows, bits: w.bits, block_size: w.blockSize, accuracy_level: options.accuracyLevel ?? 4,
  }, 'com.microsoft');
}

/** Rows of a quantised table ([vocab, hidden]) for token ids [T] → float32 [T, hidden]. */
export function gatherQuantized(g: GraphBuilder, table: QuantizedWeight, ids: string, ints: (values: number[]) => string): string {
  // The op wants data and scales of one rank, quantised along the last axis: view the table as [rows, blocks,
  // block·bits/8] (as stored) with one scale per last-axis row [rows, blocks, 1].
  const scales = g.op1('Unsqueeze', [table.scales, ints([-1])]);
  const rows = g.op1('GatherBlockQuantized', [table.data, ids, scales], {
    gather_axis: 0, quantize_axis: 2, block_size: table.blockSize, bits: table.bits,
  }, 'com.microsoft');
  return g.op1('Reshape', [rows, ints([-1, table.cols])]);
}

/** A float16 copy of a float32 table [rows, cols], and the lookup that widens the gathered rows to float32. */
export function float16Table(g: GraphBuilder, name: string, rows: number, cols: number, chunks: () => Iterable<Float32Array>): string {
  return g.weight(`${name}.f16`, [rows, cols], function* () {
    for (const c of chunks()) yield toFloat16(c);
  }, 'float16');
}

export function gatherFloat16(g: GraphBuilder, table: string, ids: string): string {
  return g.op1('Cast', [g.op1('Gather', [table, ids], { axis: 0 })], { to: 1 });
}

/** A layer's experts in the fused MoE layout (fc1 [2I, H] gate/up rows interleaved, fc2 [H, I]), one per chunk. */
export interface ExpertStreams {
  fc1(): Iterable<Float32Array>;
  fc2(): Iterable<Float32Array>;
  fc1Bias?(): Iterable<Float32Array>;
  fc2Bias?(): Iterable<Float32Array>;
}

/** QMoE's expert weights: fc1 [E, 2I, H·bits/8], scales [E, 2I, H/block]; fc2 [E, H, I·bits/8], [E, H, I/block]. */
export interface QuantizedExperts {
  fc1: string;
  fc1Scales: string;
  fc2: string;
  fc2Scales: string;
  fc1Bias?: string;
  fc2Bias?: string;
  bits: QuantBits;
  blockSize: number;
}

export function quantizedExperts(g: GraphBuilder, name: string, shape: { experts: number; hidden: number; inter: number },
  experts: ExpertStreams, bits: QuantBits, blockSize = QUANT_BLOCK): QuantizedExperts {
  const { experts: E, hidden: H, inter: I } = shape;
  const fc1 = quantizeChunks(() => experts.fc1(), H, bits, blockSize);
  const fc2 = quantizeChunks(() => experts.fc2(), I, bits, blockSize);
  return {
    fc1: g.weight(`${name}.fc1.q${bits}`, [E, 2 * I, (H * bits) / 8], fc1.data, 'uint8'),
    fc1Scales: g.weight(`${name}.fc1.q${bits}.scales`, [E, 2 * I, H / blockSize], fc1.scales),
    fc2: g.weight(`${name}.fc2.q${bits}`, [E, H, (I * bits) / 8], fc2.data, 'uint8'),
    fc2Scales: g.weight(`${name}.fc2.q${bits}.scales`, [E, H, I / blockSize], fc2.scales),
    fc1Bias: experts.fc1Bias && g.weight(`${name}.fc1.bias`, [E, 2 * I], () => experts.fc1Bias!()),
    fc2Bias: experts.fc2Bias && g.weight(`${name}.fc2.bias`, [E, H], () => experts.fc2Bias!()),
    bits,
    blockSize,
  };
}

export interface QMoEOptions {
  k: number;
  /** Renormalise the k selected weights to sum to one (the float MoE op's normalize_routing_weights). */
  normalize: boolean;
  /** Clamped SwiGLU gate·σ(alpha·gate)·(up + beta) with gate ≤ limit, |up| ≤ limit (plain SiLU: 1, 0, ∞). */
  activation?: { alpha: number; beta: number; limit: number };
  /**
   * [T, E] mixing weights to use instead of softmax(router): the op still selects the top k of `router`, then
   * weighs each selected expert by its entry here, renormalised iff `normalize`.
   */
  routerWeights?: string;
}

/**
 * com.microsoft.QMoE over x [T, H] with router logits [T, E]: Σ_selected w · fc2(swiglu(fc1(x))), with the float
 * MoE op's semantics: w = softmax(router) of the top k, renormalised iff `normalize`.
 *
 * onnxruntime 1.30's QMoE ignores normalize_routing_weights = 0 on its own: without router_weights it always takes a
 * softmax over the k selected logits (renormalised weights). Only with router_weights does the attribute apply, so
 * the unnormalised case passes softmax(router) as router_weights.
 */
export function qmoe(g: GraphBuilder, x: string, router: string, w: QuantizedExperts, options: QMoEOptions): string {
  const act = options.activation ?? { alpha: 1, beta: 0, limit: Infinity };
  const routerWeights = options.routerWeights ?? (options.normalize ? undefined : g.op1('Softmax', [router], { axis: -1 }));
  const inputs = [x, router, w.fc1, w.fc1Scales, w.fc1Bias ?? '', w.fc2, w.fc2Scales, w.fc2Bias ?? ''];
  if (routerWeights) inputs.push('', '', '', '', '', '', routerWeights); // fc3 ×3, zero points ×3 unused
  return g.op1('QMoE', inputs, {
    k: options.k, expert_weight_bits: w.bits, block_size: w.blockSize,
    activation_type: 'swiglu', swiglu_fusion: 1, normalize_routing_weights: options.normalize ? 1 : 0,
    activation_alpha: float(act.alpha), activation_beta: float(act.beta), swiglu_limit: float(act.limit),
  }, 'com.microsoft');
}

/** The environment switch for QMoE's fast int4 path; read when a session is created (see DESIGN §4). */
export const MLAS_Q4_MOE_ENV = 'ORT_USE_MLAS_Q4_GEMM_MOE';
