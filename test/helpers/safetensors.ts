import fs from 'node:fs';
import { DTYPE_BYTES, encodeFloats, type FloatDtype, type TensorDtype } from './dtype.ts';

export interface TensorSpec {
  name: string;
  dtype: TensorDtype;
  /** PyTorch order, e.g. [out, in] for a Linear weight. */
  shape: number[];
}

export interface SafetensorsTensor extends TensorSpec {
  dtype: FloatDtype;
  /** Row-major values; converted to `dtype` on write. */
  data: Float32Array;
}

/** Where a file's parts go: the 8-byte length prefix plus padded JSON header, then each tensor's bytes. */
export interface SafetensorsLayout {
  header: Buffer;
  /** Absolute file position of each tensor's first byte. */
  positions: Map<string, number>;
  fileSize: number;
}

export function elementCount(shape: number[]): number {
  return shape.reduce((count, dim) => count * dim, 1);
}

export function tensorByteLength(spec: TensorSpec): number {
  return elementCount(spec.shape) * DTYPE_BYTES[spec.dtype];
}

/** Lays tensors out in the given order, the header padded with spaces to 8 bytes as the safetensors library does. */
export function safetensorsLayout(specs: TensorSpec[]): SafetensorsLayout {
  const entries: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const relativeStarts: [string, number][] = [];
  let end = 0;
  for (const spec of specs) {
    const start = end;
    end += tensorByteLength(spec);
    entries[spec.name] = { dtype: spec.dtype, shape: spec.shape, data_offsets: [start, end] };
    relativeStarts.push([spec.name, start]);
  }
  const json = Buffer.from(JSON.stringify(entries), 'utf8');
  const paddedLength = Math.ceil(json.length / 8) * 8;
  const header = Buffer.alloc(8 + paddedLength, 0x20);
  header.writeBigUInt64LE(BigInt(paddedLength), 0);
  json.copy(header, 8);
  const positions = new Map(relativeStarts.map(([name, start]) => [name, header.length + start]));
  return { header, positions, fileSize: header.length + end };
}

/**
 * Writes a whole safetensors file from in-memory tensors, in the given order. Returns where the data begins and the
 * file size, so corrupt-file tests can truncate inside the header or the data with fs.truncateSync.
 */
export function writeSafetensors(file: string, tensors: SafetensorsTensor[]): { dataStart: number; fileSize: number } {
  for (const tensor of tensors) {
    if (tensor.data.length !== elementCount(tensor.shape)) {
      throw new Error(`${tensor.name}: ${tensor.data.length} values for shape [${tensor.shape}]`);
    }
  }
  const layout = safetensorsLayout(tensors);
  fs.writeFileSync(file, Buffer.concat([layout.header, ...tensors.map((t) => encodeFloats(t.data, t.dtype))]));
  return { dataStart: layout.header.length, fileSize: layout.fileSize };
}
