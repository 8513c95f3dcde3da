/**
 * A small GGUF v3 writer (the llama.cpp file format), enough for the peer benchmark: metadata key/values, tensor
 * infos, then the tensors' data, each at an offset aligned to `general.alignment` (32 by default). Tensors are
 * streamed: the caller hands each tensor's float32 values in row-major order, a chunk of whole blocks at a time,
 * and the writer encodes them as F32, F16, Q8_0 or Q4_0 straight into the file.
 *
 * Layout (all little-endian): "GGUF", u32 version 3, u64 tensor count, u64 metadata count; each key/value as
 * string key, u32 value type, value (strings are u64 length + UTF-8 bytes; arrays are u32 item type, u64 count,
 * items); each tensor info as string name, u32 n_dims, u64 dims[n_dims] (ggml order: dims[0] is the innermost,
 * i.e. [in, out] for a PyTorch [out, in] Linear weight), u32 ggml type, u64 offset from the start of the data
 * section; padding to the alignment; the data section.
 *
 * Block formats (ggml-common.h, quantize_row_*_ref in ggml-quants.c), 32 values a block:
 * - Q8_0: f16 d = absmax / 127, then 32 × int8 q = round(x / d) (half away from zero); value = q · d.
 * - Q4_0: f16 d = m / −8 where m is the value of largest magnitude (signed), then 16 bytes: byte j holds element j
 *   in its low nibble and element j + 16 in its high nibble, q = min(15, trunc(x / d + 8.5)); value = (q − 8) · d.
 */
import fs from 'node:fs';
import { fromFloat16, toFloat16 } from '../engine/model/onnx/quantize.ts';

export type GgmlType = 'F32' | 'F16' | 'Q4_0' | 'Q8_0';

export const GGML_TYPE_ID: Record<GgmlType, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8 };
/** general.file_type (llama_ftype) of a file whose large matrices are of this type. */
export const LLAMA_FILE_TYPE: Record<GgmlType, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7 };

export const QK = 32;
const BLOCK_BYTES: Record<GgmlType, number> = { F32: 4 * QK, F16: 2 * QK, Q4_0: 2 + QK / 2, Q8_0: 2 + QK };

/** Bytes of `count` values stored as `type` (a multiple of 32 for the block types). */
export function typeBytes(type: GgmlType, count: number): number {
  if (type === 'F32') return 4 * count;
  if (type === 'F16') return 2 * count;
  if (count % QK !== 0) throw new Error(`${type} stores blocks of ${QK} values; ${count} is not a multiple`);
  return (count / QK) * BLOCK_BYTES[type];
}

export type MetadataValue =
  | { type: 'u32'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: string[] }
  | { type: 'f32[]'; value: ArrayLike<number> }
  | { type: 'i32[]'; value: ArrayLike<number> };

const VALUE_TYPE = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 } as const;

export const meta = {
  u32: (value: number): MetadataValue => ({ type: 'u32', value }),
  i32: (value: number): MetadataValue => ({ type: 'i32', value }),
  f32: (value: number): MetadataValue => ({ type: 'f32', value }),
  bool: (value: boolean): MetadataValue => ({ type: 'bool', value }),
  string: (value: string): MetadataValue => ({ type: 'string', value }),
  strings: (value: string[]): MetadataValue => ({ type: 'string[]', value }),
  f32s: (value: ArrayLike<number>): MetadataValue => ({ type: 'f32[]', value }),
  i32s: (value: ArrayLike<number>): MetadataValue => ({ type: 'i32[]', value }),
};

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] varies fastest (the row length). */
  dims: number[];
  type: GgmlType;
}

/** Appends little-endian values to a growing buffer. */
class ByteSink {
  private chunks: Buffer[] = [];
  length = 0;
  private push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number): void { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.push(b); }
  i32(v: number): void { const b = Buffer.alloc(4); b.writeInt32LE(v); this.push(b); }
  u64(v: number): void { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
  f32(v: number): void { const b = Buffer.alloc(4); b.writeFloatLE(v); this.push(b); }
  u8(v: number): void { this.push(Buffer.of(v)); }
  string(s: string): void { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.push(b); }
  bytes(): Buffer { return Buffer.concat(this.chunks); }
}

function writeValue(sink: ByteSink, v: MetadataValue): void {
  switch (v.type) {
    case 'u32': sink.u32(VALUE_TYPE.u32); sink.u32(v.value); break;
    case 'i32': sink.u32(VALUE_TYPE.i32); sink.i32(v.value); break;
    case 'f32': sink.u32(VALUE_TYPE.f32); sink.f32(v.value); break;
    case 'bool': sink.u32(VALUE_TYPE.bool); sink.u8(v.value ? 1 : 0); break;
    case 'string': sink.u32(VALUE_TYPE.string); sink.string(v.value); break;
    case 'string[]':
      sink.u32(VALUE_TYPE.array); sink.u32(VALUE_TYPE.string); sink.u64(v.value.length);
      for (const s of v.value) sink.string(s);
      break;
    case 'f32[]': {
      sink.u32(VALUE_TYPE.array); sink.u32(VALUE_TYPE.f32); sink.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) sink.f32(v.value[i]);
      break;
    }
    case 'i32[]': {
      sink.u32(VALUE_TYPE.array); sink.u32(VALUE_TYPE.i32); sink.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) sink.i32(v.value[i]);
      break;
    }
  }
}

const align = (n: number, to: number) => Math.ceil(n / to) * to;

/**
 * Writes one GGUF file: the header at construction, then each tensor's data through `writeTensor`, in any order.
 * Every tensor must be written whole before `close`.
 */
export class GgufWriter {
  private readonly fd: number;
  private readonly dataStart: number;
  private readonly tensors = new Map<string, { info: GgufTensorInfo; offset: number; count: number; written: number }>();
  readonly fileSize: number;

  constructor(readonly file: string, metadata: [string, MetadataValue][], infos: GgufTensorInfo[], readonly alignment = 32) {
    const sink = new ByteSink();
    sink.u32(0x46554747); // "GGUF"
    sink.u32(3);
    sink.u64(infos.length);
    const kvs = alignment === 32 ? metadata : [...metadata, ['general.alignment', meta.u32(alignment)] as [string, MetadataValue]];
    sink.u64(kvs.length);
    for (const [key, value] of kvs) {
      sink.string(key);
      writeValue(sink, value);
    }
    let offset = 0;
    for (const info of infos) {
      if (this.tensors.has(info.name)) throw new Error(`tensor ${info.name} listed twice`);
      const count = info.dims.reduce((a, b) => a * b, 1);
      if (info.type !== 'F32' && info.type !== 'F16' && info.dims[0] % QK !== 0) {
        throw new Error(`${info.name}: rows of ${info.dims[0]} values cannot be stored as ${info.type} (blocks of ${QK})`);
      }
      sink.string(info.name);
      sink.u32(info.dims.length);
      for (const d of info.dims) sink.u64(d);
      sink.u32(GGML_TYPE_ID[info.type]);
      sink.u64(offset);
      this.tensors.set(info.name, { info, offset, count, written: 0 });
      offset = align(offset + typeBytes(info.type, count), alignment);
    }
    const header = sink.bytes();
    this.dataStart = align(header.length, alignment);
    this.fileSize = this.dataStart + offset;
    this.fd = fs.openSync(file, 'w');
    fs.writeSync(this.fd, header, 0, header.length, 0);
    fs.ftruncateSync(this.fd, this.fileSize);
  }

  /** Appends the next values of a tensor (row-major; a multiple of 32 values for block types, except none left). */
  writeTensor(name: string, values: Float32Array): void {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`no tensor ${name} in this file`);
    if (t.written + values.length > t.count) throw new Error(`${name}: more than its ${t.count} values`);
    const bytes = encode(values, t.info.type);
    fs.writeSync(this.fd, bytes, 0, bytes.length, this.dataStart + t.offset + typeBytes(t.info.type, t.written));
    t.written += values.length;
  }

  close(): void {
    fs.closeSync(this.fd);
    const missing = [...this.tensors.values()].filter((t) => t.written !== t.count).map((t) => t.info.name);
    if (missing.length > 0) throw new Error(`${this.file}: tensors not written whole: ${missing.join(', ')}`);
  }
}

export function encode(values: Float32Array, type: GgmlType): Uint8Array {
  switch (type) {
    case 'F32': return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    case 'F16': {
      return new Uint8Array(toFloat16(values).buffer);
    }
    case 'Q8_0': return quantizeQ8_0(values);
    case 'Q4_0': return quantizeQ4_0(values);
  }
}

export function quantizeQ8_0(x: Float32Array): Uint8Array {
  const blocks = x.length / QK;
  if (!Number.isInteger(blocks)) throw new Error(`Q8_0 needs a multiple of ${QK} values`);
  const out = new Uint8Array(blocks * BLOCK_BYTES.Q8_0);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const base = b * QK;
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[base + j]));
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const o = b * BLOCK_BYTES.Q8_0;
    view.setUint16(o, halfOf(d), true);
    for (let j = 0; j < QK; j++) {
      const v = Math.fround(x[base + j] * id);
      // roundf: half away from zero
      out[o + 2 + j] = (v < 0 ? -Math.round(-v) : Math.round(v)) & 0xff;
    }
  }
  return out;
}

export function quantizeQ4_0(x: Float32Array): Uint8Array {
  const blocks = x.length / QK;
  if (!Number.isInteger(blocks)) throw new Error(`Q4_0 needs a multiple of ${QK} values`);
  const out = new Uint8Array(blocks * BLOCK_BYTES.Q4_0);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const base = b * QK;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = x[base + j];
      if (amax < Math.abs(v)) { amax = Math.abs(v); max = v; }
    }
    const d = Math.fround(max / -8);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const o = b * BLOCK_BYTES.Q4_0;
    view.setUint16(o, halfOf(d), true);
    for (let j = 0; j < QK / 2; j++) {
      const x0 = Math.fround(Math.fround(x[base + j] * id) + 8.5);
      const x1 = Math.fround(Math.fround(x[base + QK / 2 + j] * id) + 8.5);
      out[o + 2 + j] = Math.min(15, Math.trunc(x0)) | (Math.min(15, Math.trunc(x1)) << 4);
    }
  }
  return out;
}

/** Inverse of the block formats, for checks: float32 values of `count` values stored as `type`. */
export function decode(bytes: Uint8Array, type: GgmlType, count: number): Float32Array {
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (type === 'F32') return new Float32Array(bytes.slice(0, count * 4).buffer);
  if (type === 'F16') {
    return fromFloat16(new Uint16Array(bytes.slice(0, count * 2).buffer));
  }
  for (let b = 0; b < count / QK; b++) {
    const o = b * BLOCK_BYTES[type];
    const d = fromFloat16(Uint16Array.of(view.getUint16(o, true)))[0];
    for (let j = 0; j < QK; j++) {
      if (type === 'Q8_0') {
        out[b * QK + j] = view.getInt8(o + 2 + j) * d;
      } else {
        const byte = bytes[o + 2 + (j % 16)];
        out[b * QK + j] = ((j < 16 ? byte & 0xf : byte >> 4) - 8) * d;
      }
    }
  }
  return out;
}

/** IEEE binary16 bits of one float32 (round to nearest even, as ggml's FP32_TO_FP16). */
function halfOf(value: number): number {
  return toFloat16(Float32Array.of(value))[0];
}
