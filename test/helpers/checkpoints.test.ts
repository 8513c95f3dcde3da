import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openCheckpointWeights } from './checkpoint-weights.ts';
import { FAMILIES, writeSafetensors, writeTinyCheckpoint } from './checkpoints.ts';
import { decodeFloats, encodeFloats } from './dtype.ts';
import { sharedFolder } from './golden.ts';
import { pythonJsonDumps } from './python-json.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-checkpoints-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

let counter = 0;
const freshDir = (label: string) => path.join(root, `${label}-${counter++}`);

function header(file: string): Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> {
  const bytes = fs.readFileSync(file);
  const length = Number(bytes.readBigUInt64LE(0));
  assert.equal(length % 8, 0, 'header padded to 8 bytes');
  const parsed = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8'));
  assert.deepEqual(parsed.__metadata__, { format: 'pt' });
  delete parsed.__metadata__;
  return parsed;
}

const layout = (file: string) => Object.entries(header(file)).map(([name, { shape }]) => `${name} [${shape}]`).sort();

describe('writeSafetensors', () => {
  const SPECIAL = [0, -0, 1, -2.5, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65520, 70000, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 1e-8, Number.NaN];
  const values = Float32Array.from(SPECIAL);

  function roundTrip(dtype: 'F32' | 'F16' | 'BF16'): Float32Array {
    const dir = freshDir(dtype);
    fs.mkdirSync(dir);
    writeSafetensors(path.join(dir, 'model.safetensors'), [{ name: 'x', dtype, shape: [values.length], data: values }]);
    return openCheckpointWeights(dir).read('x');
  }

  it('F32 round-trips bit for bit', () => {
    assert.deepEqual(new Uint32Array(roundTrip('F32').buffer), new Uint32Array(values.buffer));
  });

  it('BF16 and F16 round to nearest, ties to even (overflow to infinity, subnormals kept)', () => {
    assert.deepEqual([...roundTrip('BF16')], [0, -0, 1, -2.5, 1, 1 + 2 ** -6, 1, 1, 65536, 65536, 137 * 2 ** 9, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 1.34375 * 2 ** -27, Number.NaN]);
    assert.deepEqual([...roundTrip('F16')], [0, -0, 1, -2.5, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1, 1 + 2 ** -9, 65504, Infinity, Infinity, 2 ** -24, 0, 2 ** -23, 0, Number.NaN]);
  });

  it('random values stay within half a unit in the last place', () => {
    const random = Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i * 12.9898) * 10 ** ((i % 9) - 4));
    for (const [dtype, mantissaBits] of [['BF16', 7], ['F16', 10]] as const) {
      const rounded = decodeFloats(encodeFloats(random, dtype), dtype);
      random.forEach((x, i) => {
        if (Math.abs(x) < 2 ** -14) return; // below F16's normal range the error bound is absolute
        assert.ok(Math.abs(rounded[i] - x) <= Math.abs(x) * 2 ** -(mantissaBits + 1), `${dtype} ${x} → ${rounded[i]}`);
      });
    }
  });

  it('reports where the data starts, so tests can truncate the header or the data', () => {
    const dir = freshDir('truncated');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'model.safetensors');
    const data = Float32Array.from({ length: 6 }, (_, i) => i);
    const { dataStart, fileSize } = writeSafetensors(file, [
      { name: 'a', dtype: 'F32', shape: [2, 3], data },
      { name: 'b', dtype: 'BF16', shape: [6], data },
    ]);
    assert.equal(fileSize, fs.statSync(file).size);
    assert.equal(fileSize, dataStart + 6 * 4 + 6 * 2);
    assert.deepEqual(header(file).b, { dtype: 'BF16', shape: [6], data_offsets: [24, 36] });
    fs.truncateSync(file, fileSize - 1);
    assert.throws(() => openCheckpointWeights(dir), (err: Error) => err.message.includes(file) && err.message.includes(' b '));
  });

  it('refuses data that does not fill the shape', () => {
    assert.throws(() => writeSafetensors(path.join(root, 'bad.safetensors'), [{ name: 'a', dtype: 'F32', shape: [2, 2], data: new Float32Array(3) }]), /a: 3 values for shape \[2,2\]/);
  });
});

describe('writeTinyCheckpoint', () => {
  for (const family of FAMILIES) {
    it(`${family}: the golden case's tensor names and shapes, and its config keys and values`, () => {
      const dir = freshDir(family);
      const { config } = writeTinyCheckpoint(dir, { family });
      const golden = sharedFolder('golden', `${family}-f32`);
      assert.deepEqual(layout(path.join(dir, 'model.safetensors')), layout(path.join(golden, 'model.safetensors')));

      const goldenConfig = JSON.parse(fs.readFileSync(path.join(golden, 'config.json'), 'utf8'));
      // transformers omits bos_token_id when it equals both PretrainedConfig's and the class's default (None);
      // only Mixtral's class default (1) differs, so only Mixtral's config states it as null.
      if (family !== 'mixtral') delete goldenConfig.bos_token_id;
      for (const [key, value] of Object.entries(goldenConfig)) assert.deepEqual(config[key], value, key);
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')), config);
    });
  }

  it('writes config.json as transformers does: sorted keys, 2-space indent, Python floats', () => {
    const dir = freshDir('config-text');
    writeTinyCheckpoint(dir, { family: 'qwen3_moe', config: { rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 64 } } });
    const text = fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
    const keys = [...text.matchAll(/^ {2}"([^"]+)":/gm)].map((m) => m[1]);
    assert.deepEqual(keys, [...keys].sort());
    for (const line of ['  "rms_norm_eps": 1e-06,', '  "rope_theta": 10000.0,', '  "attention_dropout": 0.0,', '  "mlp_only_layers": [],',
      '  "architectures": [\n    "Qwen3MoeForCausalLM"\n  ],', '    "factor": 4.0,', '    "original_max_position_embeddings": 64,']) {
      assert.ok(text.includes(line), `config.json has ${JSON.stringify(line)}`);
    }
    assert.ok(text.endsWith('}\n'));
    assert.equal(pythonJsonDumps([1e-5, 0.0001, 123.5, -0.25, 7]), '[\n  1e-05,\n  0.0001,\n  123.5,\n  -0.25,\n  7\n]\n');
    const floats = pythonJsonDumps({ v: [1e16, 1e15, -0, 2.5e-7, 3] }, new Set(['v']));
    assert.equal(floats, '{\n  "v": [\n    1e+16,\n    1000000000000000.0,\n    -0.0,\n    2.5e-07,\n    3.0\n  ]\n}\n');
  });

  it('is deterministic per seed, and BF16/F16 hold the F32 values rounded', () => {
    const write = (seed: number, dtype: 'F32' | 'BF16' | 'F16') => {
      const dir = freshDir(`seed-${seed}-${dtype}`);
      writeTinyCheckpoint(dir, { family: 'olmoe', seed, dtype });
      return dir;
    };
    const f32 = write(4, 'F32');
    assert.deepEqual(fs.readFileSync(path.join(write(4, 'F32'), 'model.safetensors')), fs.readFileSync(path.join(f32, 'model.safetensors')));
    assert.notDeepEqual(openCheckpointWeights(write(5, 'F32')).read('lm_head.weight'), openCheckpointWeights(f32).read('lm_head.weight'));

    const full = openCheckpointWeights(f32);
    for (const dtype of ['BF16', 'F16'] as const) {
      const dir = write(4, dtype);
      assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).torch_dtype, dtype === 'BF16' ? 'bfloat16' : 'float16');
      assert.ok(Object.values(header(path.join(dir, 'model.safetensors'))).every((t) => t.dtype === dtype));
      const half = openCheckpointWeights(dir);
      for (const name of full.names()) assert.deepEqual(half.read(name), decodeFloats(encodeFloats(full.read(name), dtype), dtype), name);
    }
  });

  it('shards like save_pretrained: numbered files, an index with total_size and a sorted weight_map, same values', () => {
    const single = freshDir('single');
    const sharded = freshDir('sharded');
    writeTinyCheckpoint(single, { family: 'qwen2_moe', seed: 9, dtype: 'BF16' });
    writeTinyCheckpoint(sharded, { family: 'qwen2_moe', seed: 9, dtype: 'BF16', shards: 3 });
    const files = ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors'];
    assert.deepEqual(fs.readdirSync(sharded).filter((f) => f.startsWith('model')).sort(), [...files, 'model.safetensors.index.json']);

    const index = JSON.parse(fs.readFileSync(path.join(sharded, 'model.safetensors.index.json'), 'utf8'));
    const headers = files.map((file) => header(path.join(sharded, file)));
    const tensorBytes = headers.flatMap((h) => Object.values(h).map((t) => t.data_offsets[1] - t.data_offsets[0]));
    assert.deepEqual(index.metadata, { total_size: tensorBytes.reduce((a, b) => a + b, 0) });
    const mapped = Object.keys(index.weight_map);
    assert.deepEqual(mapped, [...mapped].sort());
    headers.forEach((h, i) => Object.keys(h).forEach((name) => assert.equal(index.weight_map[name], files[i], name)));
    assert.equal(mapped.length, headers.reduce((n, h) => n + Object.keys(h).length, 0));

    const one = openCheckpointWeights(single);
    const many = openCheckpointWeights(sharded);
    assert.deepEqual(many.names().sort(), one.names().sort());
    for (const name of one.names()) assert.deepEqual(many.read(name), one.read(name), name);
  });

  it('streams tensors larger than one chunk to the right place, with the intended spread', () => {
    const dir = freshDir('big-vocab');
    writeTinyCheckpoint(dir, { family: 'mixtral', config: { vocab_size: 40000, num_hidden_layers: 1 } });
    const weights = openCheckpointWeights(dir);
    const stats = (values: Float32Array) => {
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      return { mean, std: Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length) };
    };
    const embedding = weights.read('model.embed_tokens.weight');
    assert.equal(embedding.length, 40000 * 32);
    for (const part of [embedding.subarray(0, 1 << 20), embedding.subarray(1 << 20)]) {
      const { mean, std } = stats(part);
      assert.ok(Math.abs(mean) < 0.02 && Math.abs(std - 1) < 0.02, `embedding chunk mean ${mean} std ${std}`);
    }
    const head = stats(weights.read('lm_head.weight'));
    assert.ok(Math.abs(head.std - 1 / Math.sqrt(32)) < 0.01, `lm_head std ${head.std}`);
    const norm = stats(weights.read('model.norm.weight'));
    assert.ok(Math.abs(norm.mean - 1) < 0.1 && norm.std > 0.02 && norm.std < 0.2, `norm mean ${norm.mean} std ${norm.std}`);
  });

  it('copies the golden word-level tokenizer on request', () => {
    const dir = freshDir('tokenizer');
    writeTinyCheckpoint(dir, { family: 'qwen3_moe', tokenizer: true });
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
      assert.deepEqual(fs.readFileSync(path.join(dir, file)), fs.readFileSync(path.join(sharedFolder('golden', 'mixtral-f32'), file)));
    }
    assert.throws(() => writeTinyCheckpoint(freshDir('small-vocab'), { family: 'olmoe', tokenizer: true, config: { vocab_size: 32 } }), /64 tokens/);
  });
});
