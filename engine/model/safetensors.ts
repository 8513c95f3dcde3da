import fs from 'node:fs';
import path from 'node:path';
import type { WeightSource } from './weights.ts';

/** Float dtypes the engine reads; every one is widened to float32. */
const FLOAT_DTYPES = ['F32', 'F16', 'BF16'];
/**
 * Bits per element of every safetensors dtype. The engine reads the float ones and U8 (packed MXFP4 blocks and
 * scales); the others are accepted in headers, so a checkpoint may carry tensors the engine never reads.
 */
const DTYPE_BITS: Record<string, number> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
};
/** Longer headers are refused before reading; the largest released checkpoints' shards stay far below. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

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

/** A JSON value for an error message, cut short: headers and configs may hold anything. */
export function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
/** Tensor names come from the header; a pathological one must not make a huge message. */
const tensorLabel = (name: string) => `tensor ${name.length > 200 ? `${name.slice(0, 200)}…` : name}`;

function readFully(fd: number, file: string, buf: Buffer, position: number, what: string): void {
  let done = 0;
  while (done < buf.length) {
    const n = fs.readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) throw new CheckpointError(file, `truncated while reading ${what}`);
    done += n;
  }
}

/** Opens a checkpoint file for reading, refusing anything but a regular file (a FIFO or device would hang or never end). */
function openRegularFile(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    throw new CheckpointError(file, `cannot open (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (!fs.fstatSync(fd).isFile()) {
    fs.closeSync(fd);
    throw new CheckpointError(file, 'not a regular file');
  }
  return fd;
}

/** JSON files of a checkpoint (config, index) larger than this are refused unread. */
const MAX_JSON_BYTES = 64 * 1024 * 1024;

/** A checkpoint's JSON file as text: a regular file of at most MAX_JSON_BYTES. */
export function readJsonText(file: string): string {
  const fd = openRegularFile(file);
  try {
    const size = fs.fstatSync(fd).size;
    if (size > MAX_JSON_BYTES) throw new CheckpointError(file, `too large for a JSON file (${size} bytes; at most ${MAX_JSON_BYTES})`);
    const text = Buffer.alloc(size);
    readFully(fd, file, text, 0, 'the file');
    return text.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

function readHeader(file: string): Map<string, TensorEntry> {
  const fd = openRegularFile(file);
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 8) throw new CheckpointError(file, `truncated safetensors file (${size} bytes, no header)`);
    const lenBuf = Buffer.alloc(8);
    readFully(fd, file, lenBuf, 0, 'the header length');
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > size - 8 || headerLen > MAX_HEADER_BYTES) {
      throw new CheckpointError(file, `not a safetensors file or truncated (header claims ${headerLen} bytes, file has ${size})`);
    }
    const headerBuf = Buffer.alloc(headerLen);
    readFully(fd, file, headerBuf, 8, 'the header');
    let header: unknown;
    try {
      header = JSON.parse(headerBuf.toString('utf8'));
    } catch {
      throw new CheckpointError(file, 'safetensors header is not valid JSON');
    }
    if (!isObject(header)) throw new CheckpointError(file, `safetensors header must be a JSON object, got ${shown(header)}`);
    const dataStart = 8 + headerLen;
    const entries = new Map<string, TensorEntry>();
    for (const [name, info] of Object.entries(header)) {
      if (name === '__metadata__') {
        if (!isObject(info) || Object.values(info).some((v) => typeof v !== 'string')) {
          throw new CheckpointError(file, `__metadata__ must map names to strings, got ${shown(info)}`);
        }
        continue;
      }
      entries.set(name, tensorEntry(file, name, info, dataStart, size));
    }
    checkNoOverlap(file, entries);
    return entries;
  } finally {
    fs.closeSync(fd);
  }
}

/** One header entry, checked against the safetensors format and the file's size. */
function tensorEntry(file: string, name: string, info: unknown, dataStart: number, size: number): TensorEntry {
  const fail = (problem: string): never => {
    throw new CheckpointError(file, `${tensorLabel(name)}: ${problem}`);
  };
  if (!isObject(info)) fail(`expected {dtype, shape, data_offsets}, got ${shown(info)}`);
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BITS)) fail(`unknown dtype ${shown(dtype)}`);
  if (!Array.isArray(shape) || !shape.every(isCount)) fail(`shape must be a list of non-negative integers, got ${shown(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    fail(`data_offsets must be two non-negative integers [begin, end], got ${shown(offsets)}`);
  }
  const [b, e] = offsets as [number, number];
  if (b > e) fail(`data_offsets [${b}, ${e}] end before they begin`);
  if (dataStart + e > size) fail(`truncated: the data ends at byte ${dataStart + e} but the file has ${size} bytes`);
  const dims = shape as number[];
  const bits = dims.reduce((a, d) => a * d, 1) * DTYPE_BITS[dtype as string];
  if (bits / 8 !== e - b) fail(`${dtype} ${JSON.stringify(dims)} needs ${bits / 8} bytes, data_offsets give ${e - b}`);
  return { file, dtype: dtype as string, shape: dims, begin: dataStart + b, end: dataStart + e };
}

function checkNoOverlap(file: string, entries: Map<string, TensorEntry>): void {
  const byStart = [...entries].filter(([, e]) => e.end > e.begin).sort(([, a], [, b]) => a.begin - b.begin);
  for (let i = 1; i < byStart.length; i++) {
    const [prevName, prev] = byStart[i - 1];
    const [name, entry] = byStart[i];
    if (entry.begin < prev.end) throw new CheckpointError(file, `${tensorLabel(name)} overlaps ${tensorLabel(prevName)} (data_offsets share bytes)`);
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

/**
 * The weights files an index names (model.safetensors.index.json's weight_map values), each a relative name without
 * `..` (see confinedFile for where it may lead).
 */
function indexedShards(dir: string, indexFile: string): string[] {
  const text = readJsonText(indexFile);
  let index: unknown;
  try {
    index = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(indexFile, `not valid JSON (${(err as Error).message})`);
  }
  const weightMap = isObject(index) ? index['weight_map'] : undefined;
  if (!isObject(weightMap)) throw new CheckpointError(indexFile, `has no weight_map object (got ${shown(weightMap)})`);
  const names = new Set<string>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || shard === '') throw new CheckpointError(indexFile, `${tensorLabel(tensor)}: shard must be a file name, got ${shown(shard)}`);
    if (path.isAbsolute(shard) || path.win32.isAbsolute(shard) || shard.split(/[\\/]/).includes('..')) {
      throw new CheckpointError(indexFile, `names shard ${shown(shard)}, outside the checkpoint folder`);
    }
    names.add(shard);
  }
  return [...names].sort().map((name) => confinedFile(dir, name, indexFile));
}

/**
 * dir/name, refused unless it resolves (through symlinks too) to a file inside the folder, so a checkpoint cannot
 * make the engine read elsewhere. The one exception is a Hugging Face cache snapshot (…/snapshots/<revision>),
 * whose files are symlinks into the repository's blobs folder. Errors name the index that named the file, if any.
 */
function confinedFile(dir: string, name: string, indexFile: string | null): string {
  const file = path.join(dir, name);
  const fail = (problem: string): never => {
    throw indexFile ? new CheckpointError(indexFile, `names shard ${name}, which ${problem}`) : new CheckpointError(file, problem);
  };
  let real = '';
  try {
    real = fs.realpathSync(file);
  } catch {
    fail('is missing');
  }
  const realDir = fs.realpathSync(dir);
  const roots = [realDir];
  if (path.basename(path.dirname(realDir)) === 'snapshots') roots.push(path.join(realDir, '..', '..', 'blobs'));
  if (!roots.some((root) => isInside(root, real))) fail(`leads outside the checkpoint folder (to ${real})`);
  return file;
}

function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel !== '' && !path.isAbsolute(rel) && rel.split(path.sep)[0] !== '..';
}

/** All tensors of a checkpoint folder: model.safetensors, or the shards named by model.safetensors.index.json. */
export class SafetensorsCheckpoint implements WeightSource {
  private readonly entries = new Map<string, TensorEntry>();
  readonly files: string[];

  constructor(readonly dir: string) {
    const indexFile = path.join(dir, 'model.safetensors.index.json');
    if (fs.existsSync(indexFile)) {
      this.files = indexedShards(dir, indexFile);
    } else {
      this.files = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort().map((f) => confinedFile(dir, f, null));
      if (this.files.length === 0) throw new CheckpointError(dir, 'no *.safetensors files in this folder');
    }
    for (const f of this.files) {
      for (const [name, e] of readHeader(f)) {
        const other = this.entries.get(name);
        if (other) throw new CheckpointError(f, `${tensorLabel(name)} is also in ${path.basename(other.file)}`);
        this.entries.set(name, e);
      }
    }
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

  /** The file holding a tensor. */
  fileOf(name: string): string {
    return this.entry(name).file;
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
    const fd = openRegularFile(e.file);
    try {
      readFully(fd, e.file, raw, e.begin, tensorLabel(name));
    } finally {
      fs.closeSync(fd);
    }
    return raw;
  }
}
