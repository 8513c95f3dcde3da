/** The 16 E2M1 (FP4) values, indexed by nibble: sign bit 3, then exponent and mantissa. */
const E2M1 = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];

/**
 * Widens an MXFP4 matrix as gpt-oss checkpoints store it: blocks [rows, cols/32, 16] bytes, each byte two E2M1
 * values (low nibble = even element), and scales [rows, cols/32] E8M0 bytes (block value × 2^(scale − 127)).
 * Every value is exactly representable in float32. Returns [rows, cols] row-major.
 */
export function decodeMxfp4(blocks: Uint8Array, scales: Uint8Array, rows: number, cols: number): Float32Array {
  const blocksPerRow = cols / 32;
  if (!Number.isInteger(blocksPerRow) || blocks.length !== rows * cols / 2 || scales.length !== rows * blocksPerRow) {
    throw new Error(`MXFP4 blocks (${blocks.length} bytes) and scales (${scales.length} bytes) do not hold a ${rows}×${cols} matrix`);
  }
  const out = new Float32Array(rows * cols);
  for (let block = 0; block < rows * blocksPerRow; block++) {
    const scale = 2 ** (scales[block] - 127);
    for (let j = 0; j < 16; j++) {
      const byte = blocks[block * 16 + j];
      out[block * 32 + 2 * j] = E2M1[byte & 0x0f] * scale;
      out[block * 32 + 2 * j + 1] = E2M1[byte >> 4] * scale;
    }
  }
  return out;
}
