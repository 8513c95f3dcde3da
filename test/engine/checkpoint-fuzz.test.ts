/**
 * Property tests of the checkpoint readers on generated input: safetensors headers (SafetensorsCheckpoint), shard
 * names in an index, and config.json (openCheckpoint on the tiny checkpoints of every family). Valid input opens and
 * reads back as written; invalid input is refused with an Error whose message starts with the file at fault; nothing
 * crashes, hangs or throws a JavaScript-internal error. Each property runs a bounded number of cases (seconds).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { openCheckpoint } from '../../engine/model/checkpoint.ts';
import { ConfigReader } from '../../engine/model/config-reader.ts';
import { familyFor } from '../../engine/model/families/registry.ts';
import { CheckpointError, SafetensorsCheckpoint } from '../../engine/model/safetensors.ts';
import { FAMILIES, NEXT_FAMILIES, writeTinyCheckpoint } from '../helpers/checkpoints.ts';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-fuzz-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const RUNS = { valid: 300, defect: 600, anything: 600, shards: 300, configTypes: 400, configSizes: 400, configAnything: 400 };
const LIMITS = { timeout: 60_000 };

/** Every dtype of the safetensors format, with its bits per element. */
const DTYPE_BITS: Record<string, number> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
};

/** The error must be an Error (not a TypeError, RangeError … from inside the reader) naming `file` first. */
function namesFile(err: unknown, file: string): boolean {
  assert.ok(err instanceof Error, `threw a non-Error: ${String(err)}`);
  assert.ok([Error, CheckpointError].includes(err.constructor as typeof Error), `${err.constructor.name}: ${err.message}`);
  assert.ok(err.message.startsWith(`${file}: `), `message does not start with ${file}: ${err.message}`);
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// safetensors headers

interface PlannedTensor {
  name: string;
  dtype: string;
  shape: number[];
  /** Zero bytes before the tensor's data. */
  gap: number;
  data: Uint8Array;
}

interface PlannedFile {
  tensors: PlannedTensor[];
  metadata: Record<string, string> | null;
}

const elements = (shape: number[]) => shape.reduce((a, d) => a * d, 1);

const plannedTensor = fc.record({
  dtype: fc.constantFrom('F32', 'F16', 'BF16', 'U8', 'I64', 'BOOL', 'F8_E4M3', 'F4', 'F6_E3M2'),
  shape: fc.array(fc.nat(5), { maxLength: 3 }),
  gap: fc.nat(12),
  seed: fc.nat(),
}).filter(({ dtype, shape }) => (elements(shape) * DTYPE_BITS[dtype]) % 8 === 0);

const validFile: fc.Arbitrary<PlannedFile> = fc.record({
  tensors: fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 12 }).filter((n) => n !== '__metadata__' && n !== '__proto__'), plannedTensor),
    { minLength: 1, maxLength: 6, selector: ([name]) => name }),
  metadata: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 })),
}).map(({ tensors, metadata }) => ({
  metadata,
  tensors: tensors.map(([name, t]) => {
    const bytes = (elements(t.shape) * DTYPE_BITS[t.dtype]) / 8;
    return { name, dtype: t.dtype, shape: t.shape, gap: t.gap, data: Uint8Array.from({ length: bytes }, (_, i) => (t.seed + i * 31) & 255) };
  }),
}));

/** The header object and data of a planned file, tensors laid out in order with their gaps. */
function layout(plan: PlannedFile): { header: Record<string, unknown>; data: Buffer } {
  const header: Record<string, unknown> = plan.metadata ? { __metadata__: plan.metadata } : {};
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const t of plan.tensors) {
    parts.push(new Uint8Array(t.gap), t.data);
    at += t.gap;
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.data.length] };
    at += t.data.length;
  }
  return { header, data: Buffer.concat(parts) };
}

/** header JSON text (or raw bytes) → a safetensors file, the length prefix given or the text's padded length. */
function fileBytes(headerText: string | Uint8Array, data: Uint8Array, claimedLength?: bigint): Buffer {
  const text = Buffer.from(headerText);
  const padded = Buffer.alloc(Math.ceil(text.length / 8) * 8, 0x20);
  text.copy(padded);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(claimedLength ?? BigInt(padded.length));
  return Buffer.concat([prefix, padded, data]);
}

let folders = 0;
/** A fresh checkpoint folder holding one model.safetensors with these bytes. */
function weightsFolder(bytes: Uint8Array): { dir: string; file: string } {
  const dir = path.join(work, `w${folders++}`);
  fs.mkdirSync(dir);
  const file = path.join(dir, 'model.safetensors');
  fs.writeFileSync(file, bytes);
  return { dir, file };
}

/** Reads every tensor back; a tensor of a dtype the engine does not read must say so, naming the file. */
function readAll(weights: SafetensorsCheckpoint, file: string): void {
  for (const name of weights.names()) {
    try {
      weights.readBytes(name);
    } catch (err) {
      namesFile(err, file);
    }
    try {
      weights.read(name);
    } catch (err) {
      namesFile(err, file);
    }
  }
}

/** JSON values other than non-negative safe integers (what shape dims and offsets must be). */
const notCount = fc.oneof(
  fc.integer({ max: -1 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
  fc.constantFrom(2 ** 53, 2 ** 64, 1e300),
  fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.nat(3), { maxLength: 2 }), fc.object({ maxDepth: 1 }),
);
const notObject = fc.oneof(fc.constant(null), fc.integer(), fc.string(), fc.boolean(), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }));
const notArray = fc.oneof(fc.constant(null), fc.integer(), fc.string(), fc.boolean(), fc.object({ maxDepth: 1 }));

/** One defect applied to a valid planned file; every one makes the file invalid. */
type Defect = (header: Record<string, any>, victim: string, other: string, dataLength: number) =>
  { header?: unknown; text?: string; claimedLength?: bigint; truncateBy?: number } | void;

const defects: fc.Arbitrary<[string, Defect]> = fc.oneof(
  notObject.map((v): [string, Defect] => ['header not an object', () => ({ header: v })]),
  notObject.map((v): [string, Defect] => ['entry not an object', (h, victim) => { h[victim] = v; }]),
  fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 1 }).filter((v) => !(typeof v === 'string' && v in DTYPE_BITS)))
    .map((v): [string, Defect] => ['dtype unknown', (h, victim) => { h[victim].dtype = v; }]),
  fc.oneof(notArray, fc.constant(undefined)).map((v): [string, Defect] => ['shape not a list', (h, victim) => { h[victim].shape = v; }]),
  fc.tuple(notCount, fc.nat()).map(([v, at]): [string, Defect] => ['shape with a bad dimension', (h, victim) => {
    const shape = h[victim].shape as unknown[];
    shape.splice(at % (shape.length + 1), 0, v);
  }]),
  fc.oneof(notArray, fc.constant(undefined), fc.array(fc.nat(9), { maxLength: 4 }).filter((a) => a.length !== 2))
    .map((v): [string, Defect] => ['data_offsets not a pair', (h, victim) => { h[victim].data_offsets = v; }]),
  fc.tuple(notCount, fc.boolean()).map(([v, first]): [string, Defect] => ['data_offsets with a bad value', (h, victim) => {
    h[victim].data_offsets[first ? 0 : 1] = v;
  }]),
  fc.constant<[string, Defect]>(['data_offsets reversed', (h, victim) => {
    const [b, e] = h[victim].data_offsets;
    h[victim].data_offsets = [e + 1, b];
  }]),
  fc.integer({ min: 1, max: 2 ** 40 }).map((k): [string, Defect] => ['data past the end of the file', (h, victim, _o, dataLength) => {
    const [b, e] = h[victim].data_offsets;
    h[victim].data_offsets = [dataLength + k - (e - b), dataLength + k];
  }]),
  fc.constant<[string, Defect]>(['a byte length that does not fit the shape', (h, victim) => {
    h[victim].shape = [elements(h[victim].shape) + 1];
  }]),
  fc.constant<[string, Defect]>(['two tensors on the same bytes', (h, victim, other) => {
    const [vb, ve] = h[victim].data_offsets;
    const [ob, oe] = h[other].data_offsets;
    fc.pre(victim !== other && ve > vb && oe > ob);
    h[other].data_offsets = [vb, vb + (oe - ob)];
  }]),
  fc.oneof(notObject, fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.integer(), fc.boolean(), fc.constant(null)), { minKeys: 1, maxKeys: 2 }))
    .map((v): [string, Defect] => ['__metadata__ not a map of strings', (h) => { h.__metadata__ = v; }]),
  fc.nat().map((cut): [string, Defect] => ['header JSON cut short', (h) => {
    const text = JSON.stringify(h);
    return { text: text.slice(0, cut % text.length) };
  }]),
  fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }).map((k): [string, Defect] => ['header length past the end of the file', (h, _v, _o, dataLength) => {
    const headerBytes = Math.ceil(Buffer.byteLength(JSON.stringify(h)) / 8) * 8;
    const claimed = BigInt(headerBytes + dataLength) + k;
    return { claimedLength: claimed < 2n ** 64n ? claimed : 2n ** 64n - 1n };
  }]),
  fc.integer({ min: 1, max: 64 }).map((k): [string, Defect] => ['file cut inside the data', (h) => {
    const ends = Object.entries(h).filter(([n]) => n !== '__metadata__').map(([, t]) => (t as { data_offsets: number[] }).data_offsets[1]);
    return { truncateBy: Math.max(...ends) === 0 ? Infinity : k };
  }]),
);

describe('safetensors headers (fuzzed)', () => {
  it(`valid files open and read back as written (${RUNS.valid} files)`, LIMITS, () => {
    fc.assert(fc.property(validFile, (plan) => {
      const { header, data } = layout(plan);
      const { dir } = weightsFolder(fileBytes(JSON.stringify(header), data));
      const weights = new SafetensorsCheckpoint(dir);
      assert.deepEqual(weights.names().sort(), plan.tensors.map((t) => t.name).sort());
      for (const t of plan.tensors) {
        assert.deepEqual(weights.shape(t.name), t.shape);
        if (t.dtype === 'U8') assert.deepEqual(weights.readBytes(t.name), Buffer.from(t.data));
        if (t.dtype === 'F32') assert.deepEqual(Buffer.from(weights.read(t.name).buffer), Buffer.from(t.data));
        if (t.dtype === 'F16' || t.dtype === 'BF16') assert.equal(weights.read(t.name).length, elements(t.shape));
      }
    }), { numRuns: RUNS.valid });
  });

  it(`a valid file with one defect is refused, naming the file (${RUNS.defect} files)`, LIMITS, () => {
    fc.assert(fc.property(validFile, defects, fc.nat(), fc.nat(), (plan, [, defect], v, o) => {
      const { header, data } = layout(plan);
      const names = plan.tensors.map((t) => t.name);
      const change = defect(header, names[v % names.length], names[o % names.length], data.length) ?? {};
      const text = change.text ?? JSON.stringify('header' in change ? change.header : header);
      let bytes = fileBytes(text, data, change.claimedLength);
      if (change.truncateBy !== undefined) bytes = bytes.subarray(0, Math.max(0, bytes.length - change.truncateBy));
      const { dir, file } = weightsFolder(bytes);
      assert.throws(() => new SafetensorsCheckpoint(dir), (err) => namesFile(err, file));
    }), { numRuns: RUNS.defect });
  });

  const nearlyValidHeader = fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(
    fc.record({
      dtype: fc.oneof(fc.constantFrom(...Object.keys(DTYPE_BITS)), fc.jsonValue({ maxDepth: 0 })),
      shape: fc.oneof(fc.array(fc.nat(6), { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
      data_offsets: fc.oneof(fc.tuple(fc.nat(80), fc.nat(80)), fc.jsonValue({ maxDepth: 1 })),
    }, { requiredKeys: [] }),
    fc.jsonValue({ maxDepth: 2 }),
  ), { maxKeys: 5 });

  it(`anything else: opens and reads, or is refused naming the file (${RUNS.anything} files)`, LIMITS, () => {
    const file = fc.oneof(
      fc.tuple(nearlyValidHeader.map((h) => JSON.stringify(h)), fc.uint8Array({ maxLength: 96 })).map(([h, d]) => fileBytes(h, d)),
      fc.tuple(fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? ''), fc.uint8Array({ maxLength: 32 })).map(([h, d]) => fileBytes(h, d)),
      fc.tuple(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 32 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }))
        .map(([h, d, n]) => fileBytes(h, d, n)),
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
    );
    fc.assert(fc.property(file, (bytes) => {
      const { dir, file: weightsFile } = weightsFolder(bytes);
      let weights: SafetensorsCheckpoint;
      try {
        weights = new SafetensorsCheckpoint(dir);
      } catch (err) {
        return namesFile(err, weightsFile);
      }
      readAll(weights, weightsFile);
      return true;
    }), { numRuns: RUNS.anything });
  });

  it(`shard names in an index: only names that stay in the folder open (${RUNS.shards} indexes)`, LIMITS, () => {
    const { dir } = weightsFolder(fileBytes(JSON.stringify({ t: { dtype: 'U8', shape: [2], data_offsets: [0, 2] } }), Uint8Array.of(1, 2)));
    fs.mkdirSync(path.join(dir, 'sub'));
    const index = path.join(dir, 'model.safetensors.index.json');
    const segment = fc.constantFrom('..', '.', 'sub', 'model.safetensors', 'etc', 'passwd', '', '/', '\\', 'C:', '~');
    const shard = fc.oneof(fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => s.join('/')), fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 1 }));
    fc.assert(fc.property(shard, (name) => {
      fs.writeFileSync(index, JSON.stringify({ weight_map: { t: name } }));
      const plain = typeof name === 'string' && !name.split(/[\\/]/).includes('..') && !path.isAbsolute(name) && !/^[a-zA-Z]:/.test(name)
        && path.normalize(name) === 'model.safetensors';
      try {
        new SafetensorsCheckpoint(dir);
        assert.ok(plain, `opened shard ${JSON.stringify(name)}`);
      } catch (err) {
        // The index, or the file it names when that is no safetensors file (a folder, say).
        namesFile(err, (err as Error).message.startsWith(`${index}: `) ? index : path.join(dir, String(name)));
        assert.ok(!plain, `refused shard ${JSON.stringify(name)}: ${(err as Error).message}`);
      }
    }), { numRuns: RUNS.shards });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// config.json

interface FamilyCheckpoint {
  family: string;
  dir: string;
  configFile: string;
  config: Record<string, unknown>;
  /** Top-level keys the family's spec reads. */
  read: Set<string>;
  layers: number;
}

/** The tiny checkpoint of every family (sharded for some, MXFP4 gpt-oss besides), each valid as written. */
const checkpoints: FamilyCheckpoint[] = [
  ...[...FAMILIES, ...NEXT_FAMILIES].map((family, i) => ({ family, options: { shards: i % 3 === 0 ? 2 : 1 } })),
  { family: 'gpt_oss' as const, options: { mxfp4Experts: true } },
].map(({ family, options }, i) => {
  const dir = path.join(work, `config-${i}-${family}`);
  const { config } = writeTinyCheckpoint(dir, { family, seed: i + 1, ...options });
  const configFile = path.join(dir, 'config.json');
  const read = new Set<string>();
  const watched = new Proxy(config, { get: (target, key) => (typeof key === 'string' && read.add(key), target[key as string]) });
  familyFor(config['model_type'], configFile).spec(new ConfigReader(configFile, watched));
  return { family, dir, configFile, config, read, layers: config['num_hidden_layers'] as number };
});

const EXPERT_KEYS = ['num_experts', 'num_local_experts', 'n_routed_experts'];
const jsonType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Writes a config for the checkpoint and opens it: the spec, or the error (checked to name the file at fault). */
function openWith(ckpt: FamilyCheckpoint, config: Record<string, unknown>): { spec?: ReturnType<typeof openCheckpoint>['spec']; error?: Error } {
  fs.writeFileSync(ckpt.configFile, JSON.stringify(config));
  try {
    return { spec: openCheckpoint(ckpt.dir).spec };
  } catch (err) {
    assert.ok(err instanceof Error && [Error, CheckpointError].includes(err.constructor as typeof Error), String(err));
    // A file of the folder, or the folder itself (a missing tensor: the message lists the files searched).
    assert.ok(err.message.startsWith(ckpt.dir + path.sep) || err.message.startsWith(`${ckpt.dir}: missing tensor`), `the error names no file of the checkpoint: ${err.message}`);
    return { error: err };
  }
}

describe('config.json (fuzzed, through openCheckpoint on every family)', () => {
  it('the tiny checkpoints open as written', () => {
    for (const ckpt of checkpoints) assert.ok(openWith(ckpt, ckpt.config).spec, ckpt.family);
  });

  it(`a key the family reads, given a value of another JSON type, is refused naming config.json (${RUNS.configTypes} configs)`, LIMITS, () => {
    const candidates = checkpoints.flatMap((ckpt) => [...ckpt.read].filter((k) => k in ckpt.config).map((key) => ({ ckpt, key })));
    const replacement = fc.oneof(fc.string({ maxLength: 6 }), fc.boolean(), fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }),
      fc.integer(), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }));
    fc.assert(fc.property(fc.constantFrom(...candidates), replacement, ({ ckpt, key }, value) => {
      const original = jsonType(ckpt.config[key]);
      // A number where a list may stand (eos_token_id) and the reverse are not type errors; an object for an object may be valid.
      const numeric = new Set(['number', 'array']);
      fc.pre(jsonType(value) !== original && !(numeric.has(jsonType(value)) && (numeric.has(original) || original === 'null')) && !(original === 'object'));
      const { error } = openWith(ckpt, { ...ckpt.config, [key]: value });
      assert.ok(error, `${ckpt.family}: ${key} = ${JSON.stringify(value)} was accepted`);
      assert.ok(error.message.startsWith(`${ckpt.configFile}: `), error.message);
    }), { numRuns: RUNS.configTypes });
  });

  it(`sizes the tensors do not carry (layers, hidden size, vocabulary, experts; unsafe, negative, fractional) are refused (${RUNS.configSizes} configs)`, LIMITS, () => {
    const size = fc.oneof(fc.nat(64), fc.integer({ min: 65, max: 2 ** 53 - 1 }), fc.constantFrom(1e9, 2 ** 31, 2 ** 53, 2 ** 64, 1e300),
      fc.integer({ max: -1 }), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)));
    fc.assert(fc.property(fc.constantFrom(...checkpoints), fc.constantFrom('num_hidden_layers', 'hidden_size', 'vocab_size', 'experts'), size,
      (ckpt, which, value) => {
        const key = which === 'experts' ? EXPERT_KEYS.find((k) => k in ckpt.config)! : which;
        const original = ckpt.config[key] as number;
        const valid = Number.isSafeInteger(value) && value >= 0;
        // Fewer layers than the files hold is allowed (extra layers, as DeepSeek-V3's MTP layer); 0 experts make a dense model.
        fc.pre(!valid || (key === 'num_hidden_layers' ? value > original : value !== original && !(which === 'experts' && value === 0)));
        const { error } = openWith(ckpt, { ...ckpt.config, [key]: value });
        assert.ok(error, `${ckpt.family}: ${key} = ${value} was accepted`);
        assert.ok(error.message.startsWith(`${ckpt.configFile}: `) || error.message.startsWith(`${ckpt.dir}: missing tensor`), error.message);
      }), { numRuns: RUNS.configSizes });
  });

  it(`any keys set to any JSON: opens with sizes the tensors hold, or is refused naming a file (${RUNS.configAnything} configs)`, LIMITS, () => {
    const key = fc.oneof(fc.constantFrom(...new Set(checkpoints.flatMap((c) => Object.keys(c.config)))), fc.string({ maxLength: 8 }));
    const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.integer({ min: -2, max: 2 ** 53 }), fc.constantFrom(1e9, 1e300, 0, null));
    fc.assert(fc.property(fc.constantFrom(...checkpoints), fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 3 }), (ckpt, changes) => {
      const { spec } = openWith(ckpt, { ...ckpt.config, ...Object.fromEntries(changes) });
      if (spec) {
        assert.ok(spec.numLayers <= ckpt.layers, `${spec.numLayers} layers opened`);
        assert.ok(spec.moeLayers.every((moe) => !moe) || spec.numExperts <= 8, `${spec.numExperts} experts opened`);
      }
    }), { numRuns: RUNS.configAnything });
  });
});
