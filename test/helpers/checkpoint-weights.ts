import fs from 'node:fs';
import path from 'node:path';
import type { WeightSource } from '../../engine/model/weights.ts';
import { DTYPE_BYTES, decodeFloats, type TensorDtype } from './dtype.ts';
import { elementCount } from './safetensors.ts';

interface StoredTensor {
  file: string;
  dtype: TensorDtype;
  shape: number[];
  /** Absolute byte range in the file. */
  start: number;
  end: number;
}

/**
 * A test-side WeightSource over an HF checkpoint folder (model.safetensors, or shards listed in
 * model.safetensors.index.json), written independently of the engine's reader so each can check the other.
 * As the engine's reader: `read` widens float tensors, `readBytes` hands over U8 ones (MXFP4 blocks and scales).
 */
export function openCheckpointWeights(dir: string): WeightSource {
  const tensors = new Map<string, StoredTensor>();
  for (const file of safetensorsFiles(dir)) {
    for (const [name, tensor] of Object.entries(readHeader(file))) tensors.set(name, tensor);
  }
  const lookup = (name: string): StoredTensor => {
    const tensor = tensors.get(name);
    if (!tensor) throw new Error(`${dir}: no tensor ${name}`);
    return tensor;
  };
  return {
    names: () => [...tensors.keys()],
    has: (name) => tensors.has(name),
    shape: (name) => [...lookup(name).shape],
    read(name) {
      const tensor = lookup(name);
      if (tensor.dtype === 'U8') throw new Error(`${tensor.file}: ${name} is U8; read its bytes`);
      return decodeFloats(storedBytes(name, tensor), tensor.dtype);
    },
    readBytes(name) {
      const tensor = lookup(name);
      if (tensor.dtype !== 'U8') throw new Error(`${tensor.file}: ${name} is ${tensor.dtype}, not U8`);
      return storedBytes(name, tensor);
    },
  };
}

function storedBytes(name: string, tensor: StoredTensor): Uint8Array {
  const bytes = new Uint8Array(tensor.end - tensor.start);
  const fd = fs.openSync(tensor.file, 'r');
  try {
    const read = fs.readSync(fd, bytes, 0, bytes.length, tensor.start);
    if (read !== bytes.length) throw new Error(`${tensor.file}: ${name} is truncated`);
  } finally {
    fs.closeSync(fd);
  }
  return bytes;
}

function safetensorsFiles(dir: string): string[] {
  const indexFile = path.join(dir, 'model.safetensors.index.json');
  if (!fs.existsSync(indexFile)) return [path.join(dir, 'model.safetensors')];
  const index = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as { weight_map: Record<string, string> };
  return [...new Set(Object.values(index.weight_map))].map((shard) => path.join(dir, shard));
}

function readHeader(file: string): Record<string, StoredTensor> {
  const fd = fs.openSync(file, 'r');
  try {
    const prefix = Buffer.alloc(8);
    fs.readSync(fd, prefix, 0, 8, 0);
    const headerLength = Number(prefix.readBigUInt64LE(0));
    const header = Buffer.alloc(headerLength);
    if (fs.readSync(fd, header, 0, headerLength, 8) !== headerLength) throw new Error(`${file}: header is truncated`);
    const entries = JSON.parse(header.toString('utf8')) as Record<string, unknown>;
    const fileSize = fs.fstatSync(fd).size;
    const tensors: Record<string, StoredTensor> = {};
    for (const [name, entry] of Object.entries(entries)) {
      if (name === '__metadata__') continue;
      const { dtype, shape, data_offsets } = entry as { dtype: TensorDtype; shape: number[]; data_offsets: number[] };
      if (!Object.hasOwn(DTYPE_BYTES, dtype)) throw new Error(`${file}: ${name} has unsupported dtype ${dtype}`);
      const start = 8 + headerLength + data_offsets[0];
      const end = 8 + headerLength + data_offsets[1];
      if (end - start !== elementCount(shape) * DTYPE_BYTES[dtype] || end > fileSize) {
        throw new Error(`${file}: ${name} has data_offsets [${data_offsets}] that do not fit its shape or the file`);
      }
      tensors[name] = { file, dtype, shape, start, end };
    }
    return tensors;
  } finally {
    fs.closeSync(fd);
  }
}
