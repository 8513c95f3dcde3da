/**
 * MXFP4 as gpt-oss checkpoints store it (HF integrations/mxfp4 `convert_moe_packed_tensors`): per row of an [out, in]
 * matrix, blocks of 32 values share one E8M0 scale byte (2^(byte − 127)); each value is an E2M1 nibble, two per
 * byte, the low nibble holding the even element.
 */
const E2M1 = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];

/** `blocks` [..., groups, 16] and `scales` [..., groups] → [..., groups · 32] values. */
export function decodeMxfp4(blocks: Uint8Array, scales: Uint8Array): Float64Array {
  if (blocks.length !== scales.length * 16) throw new Error(`MXFP4: ${blocks.length} block bytes for ${scales.length} scales`);
  const values = new Float64Array(blocks.length * 2);
  for (let group = 0; group < scales.length; group++) {
    const scale = 2 ** (scales[group] - 127);
    for (let j = 0; j < 16; j++) {
      const byte = blocks[group * 16 + j];
      values[group * 32 + 2 * j] = E2M1[byte & 0x0f] * scale;
      values[group * 32 + 2 * j + 1] = E2M1[byte >> 4] * scale;
    }
  }
  return values;
}
