import zlib from 'node:zlib';

/**
 * CRC-32 (IEEE 802.3, as zlib and PNG compute it) of `bytes`, as an unsigned 32-bit integer. Node ≥ 20.15 and
 * ≥ 22.2 have zlib.crc32; older Node 20 releases fall back to the table-driven version below, which gives the same
 * values.
 */
export const crc32: (bytes: Uint8Array) => number = typeof (zlib as { crc32?: unknown }).crc32 === 'function'
  ? (bytes) => zlib.crc32(bytes)
  : crc32Table;

let table: Uint32Array | undefined;

/** The table-driven CRC-32, one byte at a time (reflected polynomial 0xEDB88320). */
export function crc32Table(bytes: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
