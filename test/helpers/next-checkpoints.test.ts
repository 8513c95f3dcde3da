import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { NEXT_FAMILIES, writeTinyCheckpoint, type Family } from './checkpoints.ts';
import { loadGoldenCase } from './golden.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-next-checkpoints-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** "name dtype [shape]" of every tensor in a safetensors file, sorted. */
function layout(file: string): string[] {
  const bytes = fs.readFileSync(file);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
  delete header.__metadata__;
  return Object.entries(header as Record<string, { dtype: string; shape: number[] }>)
    .map(([name, { dtype, shape }]) => `${name} ${dtype} [${shape}]`)
    .sort();
}

/** golden-next cases by family, each a variant of its config: with and without q_lora_rank, grouped or greedy. */
const CASES: Record<(typeof NEXT_FAMILIES)[number], string[]> = {
  deepseek_v3: ['deepseek_v3-f32', 'deepseek_v3_noq-f32'],
  deepseek_v2: ['deepseek_v2-f32', 'deepseek_v2_lite-f32'],
  gpt_oss: ['gpt_oss-f32'],
  granitemoe: ['granitemoe-f32'],
  phimoe: ['phimoe-f32'],
};

describe('writeTinyCheckpoint for the golden-next families', () => {
  for (const family of NEXT_FAMILIES) {
    it(`${family}: the golden config's keys by default; given its values, the golden case's tensors`, () => {
      const { config: defaults } = writeTinyCheckpoint(path.join(root, `${family}-defaults`), { family });
      for (const name of CASES[family]) {
        const golden = loadGoldenCase(name);
        assert.deepEqual(Object.keys(defaults).sort(), Object.keys(golden.config).sort(), `${name}: config keys`);
        const dir = path.join(root, name);
        const { config } = writeTinyCheckpoint(dir, { family: family as Family, config: golden.config });
        assert.deepEqual(layout(path.join(dir, 'model.safetensors')), layout(path.join(golden.dir, 'model.safetensors')), name);
        assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')), config);
      }
    });
  }

  it('gpt_oss with mxfp4Experts: the -mxfp4 case\'s U8 blocks and scales beside BF16 tensors, and its quantization_config', () => {
    const golden = loadGoldenCase('gpt_oss-mxfp4');
    const { quantization_config: quantization, ...unquantized } = golden.config;
    const dir = path.join(root, 'gpt_oss-mxfp4');
    const { config } = writeTinyCheckpoint(dir, { family: 'gpt_oss', dtype: 'BF16', mxfp4Experts: true, config: unquantized });
    assert.deepEqual(layout(path.join(dir, 'model.safetensors')), layout(path.join(golden.dir, 'model.safetensors')));
    assert.deepEqual(config.quantization_config, quantization);
    assert.throws(() => writeTinyCheckpoint(path.join(root, 'olmoe-mxfp4'), { family: 'olmoe', mxfp4Experts: true }), /mxfp4Experts is for gpt_oss/);
  });
});
