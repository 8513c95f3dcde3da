/** The float dtypes of safetensors files that the test checkpoints use. Bytes are little-endian, as on disk. */
export type FloatDtype = 'F32' | 'F16' | 'BF16';
/** Also raw bytes: MXFP4 checkpoints store expert blocks and scales as U8. */
export type TensorDtype = FloatDtype | 'U8';

export const DTYPE_BYTES: Record<TensorDtype, number> = { F32: 4, F16: 2, BF16: 2, U8: 1 };

/** float32 values → the dtype's bytes, rounding to nearest, ties to even. */
export function encodeFloats(values: Float32Array, dtype: FloatDtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const halves = new Uint16Array(values.length);
  const convert = dtype === 'BF16' ? float32BitsToBfloat16 : float32BitsToFloat16;
  for (let i = 0; i < bits.length; i++) halves[i] = convert(bits[i]);
  return new Uint8Array(halves.buffer);
}

/** The dtype's bytes → float32 values (exact: both half formats widen without loss). */
export function decodeFloats(bytes: Uint8Array, dtype: FloatDtype): Float32Array {
  const aligned = bytes.slice();
  if (dtype === 'F32') return new Float32Array(aligned.buffer);
  const halves = new Uint16Array(aligned.buffer);
  const values = new Float32Array(halves.length);
  if (dtype === 'BF16') {
    const bits = new Uint32Array(values.buffer);
    for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
  } else {
    for (let i = 0; i < halves.length; i++) values[i] = float16BitsToNumber(halves[i]);
  }
  return values;
}

function float32BitsToBfloat16(bits: number): number {
  const isNaN = (bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0;
  if (isNaN) return (bits >>> 16) | 0x40;
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

function float32BitsToFloat16(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    // Subnormal half: the value in units of 2^-24 is the 24-bit significand shifted right.
    return sign | shiftRightRoundingToEven(mantissa | 0x800000, 14 - halfExponent);
  }
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  return sign | shiftRightRoundingToEven((halfExponent << 23) | mantissa, 13);
}

function shiftRightRoundingToEven(value: number, shift: number): number {
  const kept = value >>> shift;
  const remainder = value & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  return remainder > halfway || (remainder === halfway && (kept & 1) === 1) ? kept + 1 : kept;
}

function float16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** E2M1 magnitudes by code; bit 3 of a nibble is the sign. */
const E2M1_MAGNITUDES = [0, 0.5, 1, 1.5, 2, 3, 4, 6];

/**
 * Rounds row-major values, in blocks of 32 along each row, to MXFP4 as gpt-oss checkpoints store it: one E8M0 scale
 * byte per block (127 + k, 2^k the smallest power of two that brings the block's largest magnitude to ≤ 6), one
 * E2M1 nibble per value (nearest, ties to the smaller magnitude), two per byte with the low nibble first.
 * `rounded` holds the values the blocks decode to.
 */
export function quantizeMxfp4(values: Float32Array): { blocks: Uint8Array; scales: Uint8Array; rounded: Float32Array } {
  if (values.length % 32 !== 0) throw new Error(`MXFP4 rounds blocks of 32 values, got ${values.length}`);
  const blocks = new Uint8Array(values.length / 2);
  const scales = new Uint8Array(values.length / 32);
  const rounded = new Float32Array(values.length);
  for (let block = 0; block < scales.length; block++) {
    const slice = values.subarray(block * 32, (block + 1) * 32);
    const largest = slice.reduce((max, v) => Math.max(max, Math.abs(v)), 0);
    const exponent = largest > 0 ? Math.min(127, Math.max(-127, Math.ceil(Math.log2(largest / 6)))) : -127;
    scales[block] = exponent + 127;
    slice.forEach((v, i) => {
      const code = nearestE2M1(Math.abs(v) / 2 ** exponent) | (v < 0 ? 8 : 0);
      blocks[block * 16 + (i >> 1)] |= i % 2 === 0 ? code : code << 4;
      rounded[block * 32 + i] = Math.sign(v || 1) * E2M1_MAGNITUDES[code & 7] * 2 ** exponent;
    });
  }
  return { blocks, scales, rounded };
}

function nearestE2M1(magnitude: number): number {
  let best = 0;
  for (let code = 1; code < E2M1_MAGNITUDES.length; code++) {
    if (Math.abs(E2M1_MAGNITUDES[code] - magnitude) < Math.abs(E2M1_MAGNITUDES[best] - magnitude)) best = code;
  }
  return best;
}
