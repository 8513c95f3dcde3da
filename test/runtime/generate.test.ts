import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadTokenizer, type TextTokenizer } from '../../engine/model/tokenizer.ts';
import { generate, type GenerationEvent, type GenerateParams } from '../../engine/runtime/generate.ts';
import type { ModelRunner } from '../../engine/runtime/model-runner.ts';
import { openRunner } from '../helpers/engine-run.ts';

const GOLDEN = path.resolve(import.meta.dirname, '../../../shared/golden/qwen2_moe-f32');
/** From expected.json: greedy continuation of the prompt. */
const PROMPT = [53, 56, 39, 59, 15, 60, 40];
const GREEDY = [55, 55, 55, 51, 6, 55, 55, 15];

async function collect(runner: ModelRunner, tokenizer: TextTokenizer, params: Partial<GenerateParams>, signal?: AbortSignal) {
  const events: GenerationEvent[] = [];
  for await (const e of generate(runner, tokenizer, PROMPT, params, signal)) events.push(e);
  const done = events.at(-1)!;
  assert.equal(done.type, 'done');
  return { events, done: done as Extract<GenerationEvent, { type: 'done' }>, tokens: events.filter((e) => e.type === 'token') as Extract<GenerationEvent, { type: 'token' }>[] };
}

describe('generation loop', () => {
  let runner: ModelRunner;
  let tokenizer: TextTokenizer;
  before(async () => {
    runner = await openRunner(GOLDEN);
    tokenizer = await loadTokenizer(GOLDEN, runner.checkpoint.config);
  });
  after(() => runner.dispose());

  it('greedy: the golden tokens, streamed text equals the decoded ids, every token carries its routing', async () => {
    const { events, done, tokens } = await collect(runner, tokenizer, { maxTokens: 8 });
    const prompt = events[0];
    assert.equal(prompt.type, 'prompt');
    assert.equal(prompt.type === 'prompt' && prompt.routing?.tokens, PROMPT.length, 'prompt routing covers every prompt token');
    assert.deepEqual(done.ids, GREEDY);
    assert.equal(done.reason, 'max-tokens');
    assert.equal(tokens.map((t) => t.text).join(''), tokenizer.decode(GREEDY));
    assert.equal(done.text, tokenizer.decode(GREEDY));
    for (const t of tokens) assert.equal(t.routing?.tokens, 1);
  });

  it('stops at an EOS id without emitting it', async () => {
    const { done } = await collect(runner, tokenizer, { maxTokens: 8, eosTokenIds: [51] });
    assert.equal(done.reason, 'eos');
    assert.deepEqual(done.ids, [55, 55, 55]);
  });

  it('stops at a stop string and cuts the text before it', async () => {
    const { done } = await collect(runner, tokenizer, { maxTokens: 8, stopStrings: ['t51'] });
    assert.equal(done.reason, 'stop-string');
    assert.equal(done.text, 't55 t55 t55 ');
  });

  it('cuts the text before a stop string that began in text already streamed', async () => {
    const { done, tokens } = await collect(runner, tokenizer, { maxTokens: 8, stopStrings: ['5 t51'] });
    assert.equal(done.reason, 'stop-string');
    assert.equal(done.text, 't55 t55 t5');
    const streamed = tokens.map((t) => t.text).join('');
    assert.ok(streamed.startsWith(done.text) && streamed.length > done.text.length, `the stream cannot take back what it sent: ${JSON.stringify(streamed)}`);
  });

  it('sampling with a seed is reproducible, and a different seed can differ', async () => {
    const sampling = { temperature: 1.5, topK: 20, topP: 0.95 };
    const a = await collect(runner, tokenizer, { maxTokens: 12, seed: 42, sampling });
    const b = await collect(runner, tokenizer, { maxTokens: 12, seed: 42, sampling });
    assert.deepEqual(a.done.ids, b.done.ids);
    const others = await Promise.all([1, 2, 3].map((seed) => collect(runner, tokenizer, { maxTokens: 12, seed, sampling })));
    assert.ok(others.some((o) => o.done.ids.join() !== a.done.ids.join()), 'some seed gives another sample');
  });

  it('top-k 1 is greedy whatever the temperature', async () => {
    const { done } = await collect(runner, tokenizer, { maxTokens: 8, seed: 9, sampling: { temperature: 5, topK: 1, topP: 1 } });
    assert.deepEqual(done.ids, GREEDY);
  });

  it('cancellation ends the stream with reason cancelled', async () => {
    const controller = new AbortController();
    const events: GenerationEvent[] = [];
    for await (const e of generate(runner, tokenizer, PROMPT, { maxTokens: 50 }, controller.signal)) {
      events.push(e);
      if (e.type === 'token' && e.index === 2) controller.abort();
    }
    const done = events.at(-1)!;
    assert.ok(done.type === 'done' && done.reason === 'cancelled' && done.ids.length === 3);
  });

  it('a prompt longer than the context is a clear error; generation stops at the context', async () => {
    const long = Array.from({ length: runner.spec.contextLength + 1 }, () => 5);
    await assert.rejects(async () => {
      for await (const _ of generate(runner, tokenizer, long, {})) void _;
    }, /prompt has 257 tokens, more than the model's context of 256 tokens/);
    const nearEnd = Array.from({ length: runner.spec.contextLength - 3 }, (_, i) => 2 + (i % 60));
    let last: GenerationEvent | undefined;
    for await (const e of generate(runner, tokenizer, nearEnd, { maxTokens: 10 })) last = e;
    assert.ok(last?.type === 'done' && last.reason === 'context' && last.ids.length === 4);
  });

  it('rejects bad sampling parameters', async () => {
    await assert.rejects(collect(runner, tokenizer, { sampling: { temperature: -1, topK: 0, topP: 1 } }), /temperature must be ≥ 0/);
    await assert.rejects(collect(runner, tokenizer, { sampling: { temperature: 1, topK: 0, topP: 0 } }), /top-p must be in \(0, 1\]/);
  });
});
