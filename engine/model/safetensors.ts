import fs from 'node:fs';
import path from 'node:path';
import type { WeightSource } from './weights.ts';

/** Float dtypes the engine reads; every one is widened to float32. */
const FLOAT_DTYPES = ['F32', 'F16', 'BF16'];
/** Bytes per element of the dtypes the engine reads: the float ones, and bytes (packed MXFP4 blocks and scales). */
const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, U8: 1 };

interface TensorEntry {
  file: string;
  dtype: string;
  shape: number[];
  /** Absolute byte offsets of the tensor's data in the file. */
  begin: number;
  end: number;
}

export class CheckpointError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'CheckpointError';
  }
}

function readHeader(file: string): Map<string, TensorEntry> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new CheckpointError(file, `cannot open (${(err as Error).message})`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 8) throw new CheckpointError(file, `truncated safetensors file (${size} bytes, no header)`);
    const lenBuf = Buffer.alloc(8);
    fs.readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > size - 8 || headerLen > 100 * 1024 * 1024) {
      throw new CheckpointError(file, `not a safetensors file or truncated (header claims ${headerLen} bytes, file has ${size})`);
    }
    const headerBuf = Buffer.alloc(headerLen);
    fs.readSync(fd, headerBuf, 0, headerLen, 8);
    let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    try {
      header = JSON.parse(headerBuf.toString('utf8'));
    } catch {
      throw new CheckpointError(file, 'safetensors header is not valid JSON');
    }
    const dataStart = 8 + headerLen;
    const entries = new Map<string, TensorEntry>();
    for (const [name, info] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const [b, e] = info.data_offsets;
      const bytes = DTYPE_BYTES[info.dtype];
      const count = info.shape.reduce((a, d) => a * d, 1);
      if (bytes !== undefined && e - b !== count * bytes) {
        throw new CheckpointError(file, `tensor ${name}: ${info.dtype} ${JSON.stringify(info.shape)} needs ${count * bytes} bytes, header gives ${e - b}`);
      }
      if (dataStart + e > size) {
        throw new CheckpointError(file, `truncated: tensor ${name} ends at byte ${dataStart + e} but the file has ${size} bytes`);
      }
      entries.set(name, { file, dtype: info.dtype, shape: info.shape, begin: dataStart + b, end: dataStart + e });
    }
    return entries;
  } finally {
    fs.closeSync(fd);
  }
}

function widen(entry: TensorEntry, name: string, raw: Buffer): Float32Array {
  const n = entry.shape.reduce((a, d) => a * d, 1);
  const out = new Float32Array(n);
  switch (entry.dtype) {
    case 'F32':
      new Uint8Array(out.buffer).set(raw);
      return out;
    case 'BF16': {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = raw.readUInt16LE(2 * i) << 16;
      return out;
    }
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(raw.readUInt16LE(2 * i));
      return out;
    default:
      throw new CheckpointError(entry.file, `tensor ${name} has dtype ${entry.dtype}; supported: ${FLOAT_DTYPES.join(', ')}`);
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** All tensors of a checkpoint folder: model.safetensors, or the shards named by model.safetensors.index.json. */
export class SafetensorsCheckpoint implements WeightSource {
  private readonly entries = new Map<string, TensorEntry>();
  readonly files: string[];

  constructor(readonly dir: string) {
    const indexFile = path.join(dir, 'model.safetensors.index.json');
    if (fs.existsSync(indexFile)) {
      let weightMap: Record<string, string>;
      try {
        weightMap = JSON.parse(fs.readFileSync(indexFile, 'utf8')).weight_map;
      } catch (err) {
        throw new CheckpointError(indexFile, `not valid JSON (${(err as Error).message})`);
      }
      if (!weightMap || typeof weightMap !== 'object') throw new CheckpointError(indexFile, 'has no weight_map');
      this.files = [...new Set(Object.values(weightMap))].sort().map((f) => path.join(dir, f));
      for (const f of this.files) {
        if (!fs.existsSync(f)) throw new CheckpointError(indexFile, `names shard ${path.basename(f)}, which is missing`);
      }
    } else {
      this.files = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort().map((f) => path.join(dir, f));
      if (this.files.length === 0) throw new CheckpointError(dir, 'no *.safetensors files in this folder');
    }
    for (const f of this.files) for (const [name, e] of readHeader(f)) this.entries.set(name, e);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  private entry(name: string): TensorEntry {
    const e = this.entries.get(name);
    if (!e) throw new CheckpointError(this.dir, `missing tensor ${name} (looked in ${this.files.map((f) => path.basename(f)).join(', ')})`);
    return e;
  }

  shape(name: string): number[] {
    return this.entry(name).shape;
  }

  read(name: string): Float32Array {
    return widen(this.entry(name), name, this.stored(name));
  }

  readBytes(name: string): Uint8Array {
    const e = this.entry(name);
    if (e.dtype !== 'U8') throw new CheckpointError(e.file, `tensor ${name} has dtype ${e.dtype}, expected U8`);
    return this.stored(name);
  }

  private stored(name: string): Buffer {
    const e = this.entry(name);
    const raw = Buffer.alloc(e.end - e.begin);
    const fd = fs.openSync(e.file, 'r');
    try {
      let done = 0;
      while (done < raw.length) {
        const n = fs.readSync(fd, raw, done, raw.length - done, e.begin + done);
        if (n === 0) throw new CheckpointError(e.file, `truncated while reading tensor ${name}`);
        done += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    return raw;
  }
}
