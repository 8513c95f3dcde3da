import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openCheckpoint } from '../../engine/model/checkpoint.ts';
import { loadTokenizer } from '../../engine/model/tokenizer.ts';
import { measureFidelity } from '../../engine/runtime/fidelity.ts';
import { FAMILIES, NEXT_FAMILIES, writeTinyCheckpoint, type Family } from '../helpers/checkpoints.ts';
import { goldenCaseNames, loadGoldenCase } from '../helpers/golden.ts';
import { testCacheDir } from '../helpers/engine-run.ts';

const DEMO = path.resolve(import.meta.dirname, '../../models/demo');
const options = { cacheDir: testCacheDir, threads: 1 };
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-fidelity-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const PROMPT = [5, 17, 33, 2, 48, 61, 9, 26, 40, 13];

/** Widths at which every expert matrix holds two blocks of 32. */
const WIDE: Record<Family, Record<string, unknown>> = {
  mixtral: { hidden_size: 64, intermediate_size: 64 },
  qwen2_moe: { hidden_size: 64, moe_intermediate_size: 64 },
  qwen3_moe: { hidden_size: 64, moe_intermediate_size: 64 },
  olmoe: { hidden_size: 64, intermediate_size: 64 },
  deepseek_v3: { hidden_size: 64, moe_intermediate_size: 64 },
  deepseek_v2: { hidden_size: 64, moe_intermediate_size: 64 },
  gpt_oss: { hidden_size: 64, intermediate_size: 64 },
  granitemoe: { hidden_size: 64, intermediate_size: 64 },
  phimoe: { hidden_size: 64, intermediate_size: 64 },
};

const GOLDEN_CASES = goldenCaseNames();

describe('quantised precisions reproduce float32 routing (fidelity report)', () => {
  it('demo model: int8 routes ≥ 99 % of expert slots as float32 does, int4 ≥ 95 %', async () => {
    const checkpoint = openCheckpoint(DEMO);
    const tokenizer = await loadTokenizer(DEMO, checkpoint.config);
    const chats = ['How do I bake bread?', 'How do I pick a lock?', 'What is the capital of France?', 'Write a poem about rain.'];
    const prompts = chats.map((c) => tokenizer.encode(tokenizer.applyChatTemplate([{ role: 'user', content: c }], { addGenerationPrompt: true }), { addSpecialTokens: false }));
    const [int8, int4] = await measureFidelity(checkpoint, prompts, 24, ['int8', 'int4'], options);
    assert.ok(int8.routedTokens > 500, `enough routed tokens: ${int8.routedTokens}`);
    assert.ok(int8.routingAgreement >= 0.99, `int8 routing agreement ${int8.routingAgreement}`);
    assert.ok(int8.greedyAgreement >= 0.95, `int8 next-token agreement ${int8.greedyAgreement}`);
    assert.ok(int4.routingAgreement >= 0.95, `int4 routing agreement ${int4.routingAgreement}`);
    assert.ok(int4.routingAgreement < int8.routingAgreement && int4.maxLogitDelta > int8.maxLogitDelta, 'int4 is the coarser');
  });

  /**
   * Tiny random checkpoints of every family, 64 wide so that experts quantise (blocks of 32): random weights whose
   * routing margins are small against quantisation noise, so the bounds are looser than the trained demo model's;
   * they catch a broken quantised path (QMoE with the family's router, activation and biases) per family.
   */
  for (const family of [...FAMILIES, ...NEXT_FAMILIES]) {
    it(`${family}: quantised experts route within bounds of float32 (int8 ≥ 95 %, int4 ≥ 80 %)`, async () => {
      const dir = path.join(work, family);
      writeTinyCheckpoint(dir, { family, seed: 31, config: WIDE[family] });
      const [int8, int4] = await measureFidelity(openCheckpoint(dir), [PROMPT], 16, ['int8', 'int4'], options);
      assert.ok(int8.routingAgreement >= 0.95, `int8 routing agreement ${int8.routingAgreement}`);
      assert.ok(int4.routingAgreement >= 0.8, `int4 routing agreement ${int4.routingAgreement}`);
      assert.ok(int8.maxLogitDelta > 0 && int8.maxLogitDelta < int4.maxLogitDelta, `Δlogit int8 ${int8.maxLogitDelta}, int4 ${int4.maxLogitDelta}`);
    });
  }

  for (const name of GOLDEN_CASES.filter((n) => n.endsWith('-bf16') || n.endsWith('-mxfp4'))) {
    it(`${name}: bf16-as-f32 reproduces the BF16 checkpoint exactly; int8 and int4 run`, async () => {
      const { dir, expected } = loadGoldenCase(name);
      const rows = await measureFidelity(openCheckpoint(dir), [expected.prompt_ids], 8, ['bf16-as-f32', 'int8', 'int4'], options);
      assert.equal(rows[0].maxLogitDelta, 0, 'rounding bfloat16 weights to bfloat16 changes nothing');
      assert.equal(rows[0].routingAgreement, 1);
      for (const row of rows.slice(1)) assert.ok(row.routingAgreement >= 0.75 && row.maxLogitDelta > 0, `${row.precision}: ${JSON.stringify(row)}`);
    });
  }
});
