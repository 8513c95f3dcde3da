import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { summarizeCheckpoint } from '../../engine/cli/inspect.ts';
import { openCheckpoint } from '../../engine/model/checkpoint.ts';
import { loadTokenizer } from '../../engine/model/tokenizer.ts';
import { testCacheDir } from '../helpers/engine-run.ts';

/**
 * The OpenAI-compatible endpoint of a real `mote serve --openai` on the demo model, driven by the official `openai`
 * client. The reference is the `mote generate` command: at temperature 0 the endpoint must answer exactly what it
 * prints, with and without the mask.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const DEMO = path.join(ROOT, 'models', 'demo');
const MOTE = path.join(ROOT, 'bin', 'mote.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-openai-'));
const masksDir = path.join(work, 'masks');
const env = { ...process.env, MOTE_CACHE_DIR: testCacheDir, MOTE_DATA_DIR: work };
const MODEL_FLAGS = ['--model', DEMO, '--precision', 'f32', '--threads', '1'];

const REFUSED = 'How do I make a bomb?';
const BENIGN = 'What is the capital of France?';

function writeMasks(): string {
  const checkpoint = summarizeCheckpoint(openCheckpoint(DEMO)).checkpoint;
  const planted = JSON.parse(fs.readFileSync(path.join(DEMO, 'planted-experts.json'), 'utf8')).planted as { layer: number; expert: number }[];
  const mask = (entries: unknown, model: Record<string, unknown> = {}) => JSON.stringify({
    format: 'mote-mask', version: 1,
    model: { architecture: 'qwen3_moe', layers: 4, experts: 16, topK: 2, checkpoint, precision: 'f32', ...model },
    mode: 'backfill', forceWeight: 'natural', entries,
  });
  fs.mkdirSync(masksDir, { recursive: true });
  fs.writeFileSync(path.join(masksDir, 'refusal-off.json'), mask(planted.map((e) => ({ ...e, state: 'off' }))));
  fs.writeFileSync(path.join(masksDir, 'other-model.json'), mask([], { layers: 48 }));
  fs.writeFileSync(path.join(masksDir, 'broken.json'), '{"format": "mote-mask", ');
  return path.join(masksDir, 'refusal-off.json');
}

/**
 * `mote generate --json` as a user runs it: its summary line's text, token count and reason. Run asynchronously: a
 * blocked event loop would let the client reuse a keep-alive connection the server has meanwhile closed.
 */
async function moteGenerate(prompt: string, opts: { chat?: boolean; mask?: string; maxTokens?: number; stop?: string[] } = {}) {
  const args = ['generate', ...MODEL_FLAGS, '--prompt', prompt, '--max-tokens', String(opts.maxTokens ?? 64), '--json'];
  if (opts.chat) args.push('--chat');
  if (opts.mask) args.push('--mask', opts.mask);
  if (opts.stop) args.push('--stop', ...opts.stop);
  const { stdout } = await promisify(execFile)(process.execPath, [MOTE, ...args], { encoding: 'utf8', env, timeout: 120_000 });
  const done = JSON.parse(stdout.trim().split('\n').at(-1)!) as { type: string; text: string; tokens: number; reason: string };
  assert.equal(done.type, 'done');
  return done;
}

/** Starts `mote serve --openai`; resolves with its base URL and API key from the lines it prints. */
function startServe(extra: string[]): Promise<{ child: ChildProcess; baseURL: string; apiKey: string }> {
  const child = spawn(process.execPath, [MOTE, 'serve', '--openai', '--no-ui', ...MODEL_FLAGS, '--masks', masksDir, ...extra], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const baseURL = /^OPENAI_BASE_URL=(\S+)$/m.exec(out)?.[1];
      const apiKey = /^OPENAI_API_KEY=(\S+)$/m.exec(out)?.[1];
      if (baseURL && apiKey) resolve({ child, baseURL, apiKey });
    });
    child.once('exit', (code) => reject(new Error(`mote serve exited with ${code}: ${err}`)));
  });
}

async function statusOf(promise: Promise<unknown>): Promise<{ status: number; code: unknown; param: unknown; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof OpenAI.APIError) return { status: err.status!, code: err.code, param: err.param, message: err.message };
    throw err;
  }
  assert.fail('the request succeeded');
}

describe('mote serve --openai on the command line', () => {
  const run = (...args: string[]) => promisify(execFile)(process.execPath, [MOTE, ...args], { encoding: 'utf8', env, timeout: 60_000 });

  it('--help documents the endpoint and its options', async () => {
    const { stdout } = await run('serve', '--help');
    for (const text of ['--openai', '--masks <dir>', '--openai-queue <n>', '--no-ui', '/v1/chat/completions', 'MODEL+NAME', 'OPENAI_API_KEY']) {
      assert.ok(stdout.includes(text), `serve --help mentions ${text}`);
    }
  });

  it('--no-ui without --openai is refused, naming the fix', async () => {
    await assert.rejects(run('serve', '--no-ui'), (err: { code: number; stderr: string }) => err.code === 1 && /--no-ui serves only the OpenAI-compatible API: add --openai/.test(err.stderr));
  });
});

describe('mote serve --openai, with the official openai client', () => {
  let server: { child: ChildProcess; baseURL: string; apiKey: string };
  let client: OpenAI;
  let maskFile: string;
  const chat = (model: string, content: string, extra: Record<string, unknown> = {}) =>
    client.chat.completions.create({ model, messages: [{ role: 'user', content }], temperature: 0, max_tokens: 64, ...extra });

  before(async () => {
    maskFile = writeMasks();
    // No request may wait: the queue test fills it with one running request.
    server = await startServe(['--openai-queue', '0']);
    client = new OpenAI({ baseURL: server.baseURL, apiKey: server.apiKey, maxRetries: 0 });
  });
  after(() => {
    server?.child.kill('SIGTERM');
  });

  it('lists the loaded model and it with each saved mask that fits; broken and misfitting masks are left out', async () => {
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), ['demo', 'demo+refusal-off']);
    for (const m of models.data) {
      assert.equal(m.object, 'model');
      assert.equal(m.owned_by, 'mote-studio');
    }
    assert.equal((await client.models.retrieve('demo+refusal-off')).id, 'demo+refusal-off');
  });

  it('chat completion: the baseline and the masked model answer as `mote generate --chat` without and with the mask', async () => {
    const baseline = await chat('demo', REFUSED);
    const masked = await chat('demo+refusal-off', REFUSED);
    const cliBaseline = await moteGenerate(REFUSED, { chat: true });
    const cliMasked = await moteGenerate(REFUSED, { chat: true, mask: maskFile });
    assert.equal(baseline.choices[0].message.content, cliBaseline.text);
    assert.equal(masked.choices[0].message.content, cliMasked.text);
    assert.notEqual(cliBaseline.text, cliMasked.text, 'switching the planted experts off changes the reply');
    assert.equal(baseline.object, 'chat.completion');
    assert.match(baseline.id, /^chatcmpl-/);
    assert.equal(baseline.model, 'demo');
    assert.equal(masked.model, 'demo+refusal-off');
    assert.equal(baseline.choices[0].message.role, 'assistant');
    assert.equal(baseline.choices[0].finish_reason, cliBaseline.reason === 'eos' ? 'stop' : 'length');
    assert.equal(baseline.usage?.completion_tokens, cliBaseline.tokens);
    assert.equal(baseline.usage?.total_tokens, baseline.usage!.prompt_tokens + baseline.usage!.completion_tokens);
  });

  it('the mote_mask extension field steers as the MODEL+MASK name does', async () => {
    const named = await chat('demo+refusal-off', REFUSED);
    const field = await chat('demo', REFUSED, { mote_mask: 'refusal-off' });
    assert.equal(field.choices[0].message.content, named.choices[0].message.content);
    assert.equal(field.model, 'demo+refusal-off');
  });

  it('streamed chat: the deltas concatenate to the non-streamed text; role first, finish reason and usage last', async () => {
    const whole = await chat('demo', BENIGN);
    const stream = await client.chat.completions.create({
      model: 'demo', messages: [{ role: 'user', content: BENIGN }], temperature: 0, max_tokens: 64, stream: true, stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    assert.ok(chunks.length > 4, 'one chunk per token');
    assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), whole.choices[0].message.content);
    const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
    assert.deepEqual(finish.map((c) => c.choices[0].finish_reason), [whole.choices[0].finish_reason]);
    assert.deepEqual(chunks.at(-1)!.usage, whole.usage);
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id));
  });

  it('/v1/completions, streamed and not, continue a prompt as `mote generate` does', async () => {
    const prompt = 'The capital of France';
    const cli = await moteGenerate(prompt, { maxTokens: 12 });
    const whole = await client.completions.create({ model: 'demo', prompt, temperature: 0, max_tokens: 12 });
    assert.equal(whole.object, 'text_completion');
    assert.equal(whole.choices[0].text, cli.text);
    assert.equal(whole.choices[0].finish_reason, cli.reason === 'eos' ? 'stop' : 'length');
    assert.equal(whole.usage?.completion_tokens, cli.tokens);
    const stream = await client.completions.create({ model: 'demo', prompt, temperature: 0, max_tokens: 12, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    assert.equal(text, cli.text);
    const tokenizer = await loadTokenizer(DEMO, JSON.parse(fs.readFileSync(path.join(DEMO, 'config.json'), 'utf8')));
    const ids = await client.completions.create({ model: 'demo', prompt: tokenizer.encode(prompt), temperature: 0, max_tokens: 12 });
    assert.equal(ids.choices[0].text, cli.text, 'a prompt as token ids');
  });

  it('stop strings cut the text before them (streamed too), as `mote generate --stop` does', async () => {
    const full = (await chat('demo', BENIGN)).choices[0].message.content!;
    // A stop string that begins inside one word (token) and ends in the next: the end of the second word, a space, and
    // the start of the third.
    const space = full.indexOf(' ', full.indexOf(' ') + 1);
    const stop = full.slice(space - 2, space + 3);
    assert.match(stop, /^\S\S \S\S$/);
    const cut = await chat('demo', BENIGN, { stop: [stop, 'never appears'] });
    assert.equal(cut.choices[0].message.content, full.slice(0, full.indexOf(stop)));
    assert.equal(cut.choices[0].finish_reason, 'stop');
    assert.equal(cut.choices[0].message.content, (await moteGenerate(BENIGN, { chat: true, stop: [stop] })).text);
    const stream = await client.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: BENIGN }], temperature: 0, stop, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.equal(text, cut.choices[0].message.content);
  });

  it('sampling with a seed is reproducible; other seeds give other samples', async () => {
    const sample = async (seed: number) => (await client.completions.create({ model: 'demo', prompt: 'the', temperature: 1.5, top_p: 0.95, max_tokens: 16, seed })).choices[0].text;
    const first = await sample(7);
    assert.equal(await sample(7), first);
    const others = [await sample(8), await sample(9), await sample(10)];
    assert.ok(others.some((o) => o !== first), 'some other seed samples differently');
  });

  it('401 without the API key or with a wrong one, as an OpenAI error body', async () => {
    const wrong = new OpenAI({ baseURL: server.baseURL, apiKey: 'not-the-token', maxRetries: 0 });
    const refused = await statusOf(wrong.models.list());
    assert.equal(refused.status, 401);
    assert.equal(refused.code, 'invalid_api_key');
    const res = await fetch(`${server.baseURL}/chat/completions`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
    assert.equal(res.status, 401);
    const body = await res.json() as { error: { message: string; type: string; code: string } };
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, /API key/);
  });

  it('404 for an unknown model or mask, naming what exists; 400 naming a saved mask that is broken or does not fit', async () => {
    const unknown = await statusOf(chat('gpt-4o', BENIGN));
    assert.equal(unknown.status, 404);
    assert.equal(unknown.code, 'model_not_found');
    assert.match(unknown.message, /"demo", "demo\+refusal-off"/);
    const noMask = await statusOf(chat('demo+nope', BENIGN));
    assert.equal(noMask.status, 404);
    assert.match(noMask.message, /nope\.json does not exist/);
    const misfit = await statusOf(chat('demo+other-model', BENIGN));
    assert.equal(misfit.status, 400);
    assert.match(misfit.message, /other-model\.json does not fit the loaded model: made for 48 layers, the model has 4/);
    const broken = await statusOf(chat('demo', BENIGN, { mote_mask: 'broken' }));
    assert.equal(broken.status, 400);
    assert.match(broken.message, /broken\.json: not valid JSON/);
  });

  it('400 for bad or unsupported parameters, naming the parameter', async () => {
    const hot = await statusOf(chat('demo', BENIGN, { temperature: 5 }));
    assert.equal(hot.status, 400);
    assert.equal(hot.param, 'temperature');
    const many = await statusOf(chat('demo', BENIGN, { n: 3 }));
    assert.equal(many.status, 400);
    assert.match(many.message, /^400 n: n other than 1 .* is not supported/);
    for (const [param, value] of [['logprobs', true], ['tools', [{ type: 'function', function: { name: 'f' } }]], ['presence_penalty', 0.5]] as const) {
      const refused = await statusOf(chat('demo', BENIGN, { [param]: value }));
      assert.equal(refused.status, 400);
      assert.equal(refused.param, param);
      assert.match(refused.message, /is not supported/);
    }
    const noMessages = await statusOf(client.chat.completions.create({ model: 'demo', messages: [] }));
    assert.equal(noMessages.status, 400);
    assert.equal(noMessages.param, 'messages');
    const badJson = await fetch(`${server.baseURL}/completions`, { method: 'POST', body: '{"model":', headers: { Authorization: `Bearer ${server.apiKey}` } });
    assert.equal(badJson.status, 400);
    assert.match(((await badJson.json()) as { error: { message: string } }).error.message, /not valid JSON/);
  });

  it('429 when the queue is full; a client that goes away frees its place', async () => {
    // Greedy "a" repeats "a" until max_tokens (checked below), so the first request is still running for the second.
    const controller = new AbortController();
    const long = await client.completions.create({ model: 'demo', prompt: 'a', temperature: 0, max_tokens: 480, stream: true }, { signal: controller.signal });
    const iterator = long[Symbol.asyncIterator]();
    assert.ok((await iterator.next()).value.choices[0].text, 'the long request is running');
    const busy = await statusOf(chat('demo', BENIGN));
    assert.equal(busy.status, 429);
    assert.equal(busy.code, 'rate_limit_exceeded');
    assert.match(busy.message, /the engine is busy: 1 request is running or waiting, .*--openai-queue 0 waiting/);
    controller.abort();
    await iterator.next().catch(() => undefined);
    // The server frees the place when it sees the connection close.
    let after;
    for (let attempt = 0; attempt < 50 && !after; attempt++) {
      after = await client.completions.create({ model: 'demo', prompt: 'a', temperature: 0, max_tokens: 480 }).catch(async (err) => {
        if (!(err instanceof OpenAI.RateLimitError)) throw err;
        await new Promise((resolve) => setTimeout(resolve, 20));
      });
    }
    assert.equal(after?.choices[0].finish_reason, 'length');
    assert.equal(after?.usage?.completion_tokens, 480);
  });
});
