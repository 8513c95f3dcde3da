import os from 'node:os';

/**
 * Typed arrays ↔ SQLite BLOBs, always little-endian. Encoding and decoding both copy: the caller's array stays
 * untouched, and a decoded array owns aligned memory instead of a view into a Buffer that better-sqlite3 (or
 * Node's Buffer pool) may share, at an offset a typed array may not be allowed to start at.
 */
type BlobArray = Int16Array | Int32Array | Float32Array | Float64Array;
type BlobArrayType<T extends BlobArray> = { new(length: number): T; readonly BYTES_PER_ELEMENT: number };

const HOST_IS_LITTLE_ENDIAN = os.endianness() === 'LE';

export function toBlob(array: BlobArray): Buffer {
  const blob = Buffer.from(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  if (!HOST_IS_LITTLE_ENDIAN) swapBytes(blob, array.BYTES_PER_ELEMENT);
  return blob;
}

export function int16FromBlob(blob: Uint8Array): Int16Array {
  return fromBlob(blob, Int16Array);
}

export function int32FromBlob(blob: Uint8Array): Int32Array {
  return fromBlob(blob, Int32Array);
}

export function float32FromBlob(blob: Uint8Array): Float32Array {
  return fromBlob(blob, Float32Array);
}

export function float64FromBlob(blob: Uint8Array): Float64Array {
  return fromBlob(blob, Float64Array);
}

function fromBlob<T extends BlobArray>(blob: Uint8Array, type: BlobArrayType<T>): T {
  const size = type.BYTES_PER_ELEMENT;
  if (blob.byteLength % size !== 0) {
    throw new Error(`a BLOB of ${blob.byteLength} bytes cannot hold ${size}-byte elements`);
  }
  const array = new type(blob.byteLength / size);
  const bytes = new Uint8Array(array.buffer);
  bytes.set(blob);
  if (!HOST_IS_LITTLE_ENDIAN) swapBytes(Buffer.from(bytes.buffer), size);
  return array;
}

function swapBytes(bytes: Buffer, size: number): void {
  if (size === 2) bytes.swap16();
  else if (size === 4) bytes.swap32();
  else bytes.swap64();
}
