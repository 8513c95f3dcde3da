import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { EngineHost } from '../../engine/host/engine-host.ts';
import { callHost, CallError } from '../../engine/host/local-client.ts';
import { openCheckpoint } from '../../engine/model/checkpoint.ts';
import { SafetensorsCheckpoint } from '../../engine/model/safetensors.ts';
import { writeSafetensors } from '../helpers/safetensors.ts';
import { openRunner, testCacheDir } from '../helpers/engine-run.ts';
import { sharedFolder } from '../helpers/golden.ts';

const GOLDEN = sharedFolder('golden');

/** A writable copy of a golden checkpoint folder. */
function copyCheckpoint(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mote-bad-${name}-`));
  for (const f of fs.readdirSync(path.join(GOLDEN, name))) {
    fs.copyFileSync(path.join(GOLDEN, name, f), path.join(dir, f));
    fs.chmodSync(path.join(dir, f), 0o644);
  }
  return dir;
}

function rewriteWeights(dir: string, edit: (tensors: { name: string; shape: number[]; data: Float32Array }[]) => typeof tensors) {
  const source = new SafetensorsCheckpoint(dir);
  const tensors = source.names().map((name) => ({ name, shape: source.shape(name), data: source.read(name) }));
  writeSafetensors(path.join(dir, 'model.safetensors'), edit(tensors).map((t) => ({ ...t, dtype: 'F32' as const })));
}

describe('bad checkpoints fail with errors naming the file and the problem', () => {
  it('unknown model_type lists the supported ones', () => {
    const dir = copyCheckpoint('mixtral-f32');
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(configFile, 'utf8')), model_type: 'llama4_moe' }));
    assert.throws(() => openCheckpoint(dir), (err: Error) =>
      err.message.includes(configFile) && err.message.includes('"llama4_moe"') && /mixtral, qwen2_moe, qwen3_moe, olmoe/.test(err.message));
  });

  it('a folder without config.json is not taken for a checkpoint', () => {
    const dir = copyCheckpoint('mixtral-f32');
    fs.rmSync(path.join(dir, 'config.json'));
    assert.throws(() => openCheckpoint(dir), { message: `${dir}: not a checkpoint folder (no config.json; expected a Hugging Face model folder)` });
  });

  it('corrupt config.json names the file', () => {
    const dir = copyCheckpoint('mixtral-f32');
    fs.writeFileSync(path.join(dir, 'config.json'), '{"model_type": "mixtral",');
    assert.throws(() => openCheckpoint(dir), (err: Error) => err.message.startsWith(path.join(dir, 'config.json')) && err.message.includes('not valid JSON'));
  });

  it('a missing config key names the key', () => {
    const dir = copyCheckpoint('olmoe-f32');
    const configFile = path.join(dir, 'config.json');
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
    delete config.num_experts;
    fs.writeFileSync(configFile, JSON.stringify(config));
    assert.throws(() => openCheckpoint(dir), /config\.json: num_experts is missing/);
  });

  it('truncated safetensors file: inside the data and inside the header', () => {
    const dir = copyCheckpoint('qwen3_moe-f32');
    const file = path.join(dir, 'model.safetensors');
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 100);
    assert.throws(() => openCheckpoint(dir), (err: Error) => err.message.startsWith(file) && /truncated/.test(err.message));
    fs.truncateSync(file, 20);
    assert.throws(() => openCheckpoint(dir), (err: Error) => err.message.startsWith(file) && /truncated/.test(err.message));
  });

  it('a file that is not safetensors at all', () => {
    const dir = copyCheckpoint('qwen3_moe-f32');
    const file = path.join(dir, 'model.safetensors');
    fs.writeFileSync(file, 'this is not a safetensors file, just text that is long enough');
    assert.throws(() => openCheckpoint(dir), (err: Error) => err.message.startsWith(file) && /not a safetensors file/.test(err.message));
  });

  it('missing tensor names the tensor and the files searched', async () => {
    const dir = copyCheckpoint('qwen2_moe-f32');
    rewriteWeights(dir, (ts) => ts.filter((t) => t.name !== 'model.layers.2.mlp.experts.5.up_proj.weight'));
    await assert.rejects(openRunner(dir), (err: Error) =>
      err.message.includes('missing tensor model.layers.2.mlp.experts.5.up_proj.weight') && err.message.includes('model.safetensors'));
  });

  it('tensor of the wrong shape names the tensor and both shapes', async () => {
    const dir = copyCheckpoint('mixtral-f32');
    rewriteWeights(dir, (ts) => ts.map((t) => (t.name === 'model.layers.1.self_attn.k_proj.weight' ? { ...t, shape: [8, 64] } : t)));
    await assert.rejects(openRunner(dir), (err: Error) =>
      err.message.includes('model.layers.1.self_attn.k_proj.weight') && err.message.includes('[8,64]') && err.message.includes('[16,32]'));
  });

  it('sharded index that names a missing shard', () => {
    const dir = copyCheckpoint('mixtral-f32');
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'model.norm.weight': 'model-00001-of-00002.safetensors' } }));
    assert.throws(() => openCheckpoint(dir), /model\.safetensors\.index\.json: names shard model-00001-of-00002\.safetensors, which is missing/);
  });

  it('a folder without weights', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-empty-'));
    fs.copyFileSync(path.join(GOLDEN, 'mixtral-f32', 'config.json'), path.join(dir, 'config.json'));
    assert.throws(() => openCheckpoint(dir), /no \*\.safetensors files/);
  });
});

/** Rewrites a safetensors file's JSON header; offsets count from the end of the header, so they keep their meaning. */
function editHeader(file: string, edit: (header: Record<string, any>) => unknown): void {
  const bytes = fs.readFileSync(file);
  const length = Number(bytes.readBigUInt64LE(0));
  const json = Buffer.from(JSON.stringify(edit(JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')))), 'utf8');
  const padded = Buffer.alloc(8 + Math.ceil(json.length / 8) * 8, 0x20);
  padded.writeBigUInt64LE(BigInt(padded.length - 8), 0);
  json.copy(padded, 8);
  fs.writeFileSync(file, Buffer.concat([padded, bytes.subarray(8 + length)]));
}

function editConfig(dir: string, edit: (config: Record<string, any>) => void): string {
  const file = path.join(dir, 'config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(config);
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}

/** Asserts openCheckpoint fails with a message starting with `file` and matching `problem`. */
function refuses(dir: string, file: string, problem: RegExp): void {
  assert.throws(() => openCheckpoint(dir), (err: Error) => {
    assert.ok(err.message.startsWith(`${file}: `), err.message);
    assert.match(err.message, problem);
    return true;
  });
}

describe('config.json sizes are checked against the tensors before anything is sized by them', () => {
  it('num_hidden_layers 1e9: refused at once, by `mote inspect` too (was a V8 crash, exit 134)', () => {
    const dir = copyCheckpoint('mixtral-f32');
    const configFile = editConfig(dir, (c) => { c.num_hidden_layers = 1e9; });
    refuses(dir, configFile, /num_hidden_layers 1000000000, but the weights \(model\.safetensors\) hold tensors of 3 layers/);
    const cli = spawnSync(process.execPath, [path.resolve(import.meta.dirname, '../../bin/mote.js'), 'inspect', '--model', dir], { encoding: 'utf8' });
    assert.equal(cli.status, 1, cli.stderr);
    assert.equal(cli.stderr.trim(), `mote: ${configFile}: num_hidden_layers 1000000000, but the weights (model.safetensors) hold tensors of 3 layers`);
  });

  it('a layer without tensors, more experts or another hidden size than the tensors hold, unsafe integers', () => {
    const dir = copyCheckpoint('qwen3_moe-f32');
    const original = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    const configFile = path.join(dir, 'config.json');
    const rewrite = (changes: Record<string, unknown>) => fs.writeFileSync(configFile, JSON.stringify({ ...original, ...changes }));
    rewriteWeights(dir, (ts) => ts.map((t) => ({ ...t, name: t.name.replace('model.layers.1.', 'model.layers.7.') })));
    refuses(dir, configFile, /num_hidden_layers 3, but the weights \(model\.safetensors\) hold no tensor of layer 1 \(model\.layers\.1\.…\)/);
    rewriteWeights(dir, (ts) => ts.map((t) => ({ ...t, name: t.name.replace('model.layers.7.', 'model.layers.1.') })));
    rewrite({ num_experts: 4096 });
    refuses(dir, configFile, /4096 experts and hidden_size 32 give model\.layers\.0\.mlp\.gate\.weight the shape \[4096, 32\], but model\.safetensors holds \[8,32\]/);
    rewrite({ hidden_size: 1e9 });
    refuses(dir, configFile, /vocab_size 64 and hidden_size 1000000000 give model\.embed_tokens\.weight the shape \[64, 1000000000\], but model\.safetensors holds \[64,32\]/);
    rewrite({ head_dim: 1e9 });
    refuses(dir, configFile, /4 attention heads of 1000000000 give model\.layers\.0\.self_attn\.q_proj\.weight the shape \[4000000000, ·\]/);
    rewrite({ vocab_size: 2 ** 60 });
    refuses(dir, configFile, /vocab_size must be a non-negative integer, got 1152921504606847000/);
    rewrite({ model_type: ['qwen3_moe'] });
    refuses(dir, configFile, /model_type \["qwen3_moe"\] is not supported/);
    rewrite({ rope_scaling: { rope_type: 'linear', factor: 'x' } });
    refuses(dir, configFile, /rope_scaling\.factor must be a number, got "x"/);
    rewrite({ rope_scaling: [1] });
    refuses(dir, configFile, /rope_scaling must be an object, got \[1\]/);
    rewrite({});
    assert.equal(openCheckpoint(dir).spec.numLayers, 3);
  });
});

describe('safetensors headers: every field checked, errors name the file and the tensor', () => {
  const cases: [string, (h: Record<string, any>) => unknown, RegExp][] = [
    ['negative offsets (were accepted: header bytes read as weights)',
      (h) => { const [b, e] = h['model.norm.weight'].data_offsets; h['model.norm.weight'].data_offsets = [-64, e - b - 64]; return h; },
      /tensor model\.norm\.weight: data_offsets must be two non-negative integers \[begin, end\], got \[-64,64\]/],
    ['a null header', () => null, /safetensors header must be a JSON object, got null/],
    ['an array header', () => [1, 2], /safetensors header must be a JSON object, got \[1,2\]/],
    ['an entry that is not an object', (h) => ({ ...h, 'model.norm.weight': 'F32' }), /tensor model\.norm\.weight: expected \{dtype, shape, data_offsets\}, got "F32"/],
    ['missing data_offsets', (h) => { delete h['model.norm.weight'].data_offsets; return h; }, /tensor model\.norm\.weight: data_offsets must be .*, got nothing/],
    ['a string shape', (h) => { h['model.norm.weight'].shape = '32'; return h; }, /tensor model\.norm\.weight: shape must be a list of non-negative integers, got "32"/],
    ['a fractional dimension', (h) => { h['model.norm.weight'].shape = [31.5]; return h; }, /shape must be a list of non-negative integers, got \[31\.5\]/],
    ['an unknown dtype', (h) => { h['model.norm.weight'].dtype = 'F33'; return h; }, /tensor model\.norm\.weight: unknown dtype "F33"/],
    ['a byte length that does not fit the shape', (h) => { h['model.norm.weight'].shape = [16]; return h; }, /tensor model\.norm\.weight: F32 \[16\] needs 64 bytes, data_offsets give 128/],
    ['offsets that end before they begin', (h) => { const [b, e] = h['model.norm.weight'].data_offsets; h['model.norm.weight'].data_offsets = [e, b]; return h; }, /end before they begin/],
    ['offsets past the end of the file', (h) => { const [b, e] = h['model.norm.weight'].data_offsets; h['model.norm.weight'].data_offsets = [b + 1e9, e + 1e9]; return h; }, /tensor model\.norm\.weight: truncated: the data ends at byte \d+ but the file has \d+ bytes/],
    ['two tensors on the same bytes', (h) => { h['model.norm.weight'].data_offsets = [...h['model.layers.0.input_layernorm.weight'].data_offsets]; return h; }, /overlaps tensor/],
    ['metadata that is not a map of strings', (h) => ({ ...h, __metadata__: { format: 1 } }), /__metadata__ must map names to strings, got \{"format":1\}/],
  ];
  for (const [what, edit, problem] of cases) {
    it(what, () => {
      const dir = copyCheckpoint('mixtral-f32');
      const file = path.join(dir, 'model.safetensors');
      editHeader(file, edit);
      refuses(dir, file, problem);
    });
  }

  it('a tensor in two shards', () => {
    const dir = copyCheckpoint('mixtral-f32');
    const file = path.join(dir, 'model.safetensors');
    fs.copyFileSync(file, path.join(dir, 'extra.safetensors'));
    refuses(dir, file, /tensor .* is also in extra\.safetensors/);
  });
});

describe('shards are confined to the checkpoint folder', () => {
  const index = (dir: string, shard: unknown) => {
    const file = path.join(dir, 'model.safetensors.index.json');
    fs.writeFileSync(file, JSON.stringify({ metadata: {}, weight_map: { 'model.norm.weight': shard } }));
    return file;
  };

  it('refuses ../ and absolute shard names (../../etc/passwd was opened)', () => {
    const dir = copyCheckpoint('mixtral-f32');
    refuses(dir, index(dir, '../../etc/passwd'), /names shard "\.\.\/\.\.\/etc\/passwd", outside the checkpoint folder/);
    refuses(dir, index(dir, '/etc/passwd'), /names shard "\/etc\/passwd", outside the checkpoint folder/);
    refuses(dir, index(dir, 'sub/../../x.safetensors'), /outside the checkpoint folder/);
    refuses(dir, index(dir, 7), /tensor model\.norm\.weight: shard must be a file name, got 7/);
    const file = index(dir, '');
    fs.writeFileSync(file, 'null');
    refuses(dir, file, /has no weight_map object \(got nothing\)/);
    fs.writeFileSync(file, '{"weight_map": []}');
    refuses(dir, file, /has no weight_map object \(got \[\]\)/);
  });

  it('refuses a symlink leading outside, and a shard, index or config that is not a regular file (a FIFO hung the engine)', () => {
    const dir = copyCheckpoint('mixtral-f32');
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-outside-'));
    fs.renameSync(path.join(dir, 'model.safetensors'), path.join(outside, 'model.safetensors'));
    fs.symlinkSync(path.join(outside, 'model.safetensors'), path.join(dir, 'model.safetensors'));
    refuses(dir, path.join(dir, 'model.safetensors'), new RegExp(`leads outside the checkpoint folder \\(to ${fs.realpathSync(outside)}/model\\.safetensors\\)`));
    refuses(dir, index(dir, 'model.safetensors'), /names shard model\.safetensors, which leads outside the checkpoint folder/);
    fs.rmSync(path.join(dir, 'model.safetensors.index.json'));
    fs.rmSync(path.join(dir, 'model.safetensors'));
    execFileSync('mkfifo', [path.join(dir, 'model.safetensors')]);
    refuses(dir, path.join(dir, 'model.safetensors'), /not a regular file/);
    for (const json of ['model.safetensors.index.json', 'config.json']) {
      fs.rmSync(path.join(dir, json), { force: true });
      execFileSync('mkfifo', [path.join(dir, json)]);
      refuses(dir, path.join(dir, json), /not a regular file/);
    }
  });

  it('accepts a Hugging Face cache snapshot, whose files link into the blobs folder', () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-hub-'));
    const snapshot = path.join(repo, 'snapshots', 'abc123');
    fs.mkdirSync(path.join(repo, 'blobs'));
    fs.mkdirSync(snapshot, { recursive: true });
    for (const f of fs.readdirSync(path.join(GOLDEN, 'mixtral-f32'))) {
      fs.copyFileSync(path.join(GOLDEN, 'mixtral-f32', f), path.join(repo, 'blobs', `blob-${f}`));
      fs.symlinkSync(path.join('..', '..', 'blobs', `blob-${f}`), path.join(snapshot, f));
    }
    assert.equal(openCheckpoint(snapshot).spec.numLayers, 3);
  });
});

describe('the engine host refuses bad checkpoints and keeps answering', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-host-bad-'));
  fs.mkdirSync(path.join(work, 'probes'));
  const good = path.join(GOLDEN, 'qwen2_moe-f32');
  const host = new EngineHost({ demoModelDir: good, probesDir: path.join(work, 'probes'), dbFile: path.join(work, 'mote.db'), cacheDir: testCacheDir, threads: 1 });
  after(() => host.dispose());

  it('num_hidden_layers 1e9, a null header, a shard outside the folder: each a failed reply, then the model opens and generates', async () => {
    const layers = copyCheckpoint('mixtral-f32');
    editConfig(layers, (c) => { c.num_hidden_layers = 1e9; });
    const header = copyCheckpoint('mixtral-f32');
    editHeader(path.join(header, 'model.safetensors'), () => null);
    const traversal = copyCheckpoint('mixtral-f32');
    fs.writeFileSync(path.join(traversal, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { x: '../../etc/passwd' } }));
    for (const [dir, file, problem] of [
      [layers, 'config.json', 'num_hidden_layers 1000000000'],
      [header, 'model.safetensors', 'safetensors header must be a JSON object'],
      [traversal, 'model.safetensors.index.json', 'outside the checkpoint folder'],
    ]) {
      await assert.rejects(callHost(host, 'model.open', { dir }), (err: CallError) => {
        assert.equal(err.code, 'failed');
        assert.ok(err.message.includes(`${path.join(dir, file)}: `) && err.message.includes(problem), err.message);
        return true;
      });
    }
    assert.equal((await callHost(host, 'model.open', { dir: good })).architecture, 'qwen2_moe');
    const result = await callHost(host, 'generate', { prompt: 't5', chat: false, mask: { mode: 'backfill', forceWeight: 'natural', entries: [] }, maxTokens: 2, seed: 0, temperature: 0, topK: 0, topP: 1 });
    assert.equal(result.ids.length, 2);
  });
});
