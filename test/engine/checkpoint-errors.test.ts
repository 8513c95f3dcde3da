import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openCheckpoint } from '../../engine/model/checkpoint.ts';
import { SafetensorsCheckpoint } from '../../engine/model/safetensors.ts';
import { writeSafetensors } from '../helpers/safetensors.ts';
import { openRunner } from '../helpers/engine-run.ts';
import { GOLDEN_DIR } from '../helpers/golden.ts';

const GOLDEN = GOLDEN_DIR;

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
