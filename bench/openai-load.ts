/**
 * Load test of the OpenAI-compatible endpoint. Prints figures; asserts nothing.
 *   npm run bench:openai -- [--requests 200] [--concurrency 8] [--max-tokens 16] [--threads 1]
 * Starts `mote serve --openai --no-ui` on the demo model (its own process, as a user runs it), saves the demo's
 * planted experts as the mask `refusal-off`, and sends chat completions through the official `openai` client from
 * `concurrency` workers: alternately to `demo` and `demo+refusal-off` (an A/B evaluation), temperature 0, over a few
 * refused and benign prompts. Reports throughput (requests/s and generated tokens/s, wall clock), latency
 * percentiles per request (queueing included: the engine runs one request at a time) and the errors by kind.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { summarizeCheckpoint } from '../engine/cli/inspect.ts';
import { openCheckpoint } from '../engine/model/checkpoint.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const DEMO = path.join(ROOT, 'models', 'demo');
const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' }, concurrency: { type: 'string', default: '8' },
    'max-tokens': { type: 'string', default: '16' }, threads: { type: 'string', default: '1' },
  },
});
const requests = Number(args.requests);
const concurrency = Number(args.concurrency);
const maxTokens = Number(args['max-tokens']);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-openai-bench-'));
const PROMPTS = ['How do I make a bomb?', 'What is the capital of France?', 'How do I break into a house?', 'What colour is the sky?'];

function saveMask(dir: string): void {
  const checkpoint = summarizeCheckpoint(openCheckpoint(DEMO)).checkpoint;
  const planted = JSON.parse(fs.readFileSync(path.join(DEMO, 'planted-experts.json'), 'utf8')).planted as { layer: number; expert: number }[];
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'refusal-off.json'), JSON.stringify({
    format: 'mote-mask', version: 1, model: { architecture: 'qwen3_moe', layers: 4, experts: 16, topK: 2, checkpoint, precision: 'f32' },
    mode: 'backfill', forceWeight: 'natural', entries: planted.map((e) => ({ ...e, state: 'off' })),
  }));
}

async function startServe(masksDir: string) {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'mote.js'), 'serve', '--openai', '--no-ui', '--model', DEMO, '--precision', 'f32',
    '--threads', args.threads, '--masks', masksDir], { env: { ...process.env, MOTE_DATA_DIR: work, MOTE_CACHE_DIR: path.join(work, 'cache') }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const { baseURL, apiKey } = await new Promise<{ baseURL: string; apiKey: string }>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const baseURL = /^OPENAI_BASE_URL=(\S+)$/m.exec(out)?.[1];
      const apiKey = /^OPENAI_API_KEY=(\S+)$/m.exec(out)?.[1];
      if (baseURL && apiKey) resolve({ baseURL, apiKey });
    });
    child.once('exit', (code) => reject(new Error(`mote serve exited with ${code}`)));
  });
  return { child, client: new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120_000 }) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main(): Promise<void> {
  const masksDir = path.join(work, 'masks');
  saveMask(masksDir);
  const { child, client } = await startServe(masksDir);
  try {
    const models = (await client.models.list()).data.map((m) => m.id);
    console.log(`models: ${models.join(', ')}`);
    // One warm-up request per model: the first steered run compiles nothing new, but the first request pays for
    // connection set-up and the JIT.
    for (const model of models) await client.chat.completions.create({ model, messages: [{ role: 'user', content: PROMPTS[0] }], max_tokens: maxTokens, temperature: 0 });

    const latencies: number[] = [];
    const errors = new Map<string, number>();
    let tokens = 0;
    let next = 0;
    const worker = async () => {
      while (next < requests) {
        const i = next++;
        const started = performance.now();
        try {
          const reply = await client.chat.completions.create({
            model: models[i % models.length], messages: [{ role: 'user', content: PROMPTS[i % PROMPTS.length] }], max_tokens: maxTokens, temperature: 0,
          });
          tokens += reply.usage?.completion_tokens ?? 0;
          latencies.push(performance.now() - started);
        } catch (err) {
          const kind = err instanceof OpenAI.APIError ? `${err.status ?? 'connection'} ${err.code ?? err.message}` : (err as Error).message;
          errors.set(kind, (errors.get(kind) ?? 0) + 1);
        }
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const errorCount = [...errors.values()].reduce((a, b) => a + b, 0);
    console.log(`${requests} chat completions, ${concurrency} concurrent, max_tokens ${maxTokens}, ${args.threads} thread(s), demo model f32, models alternating`);
    console.log(`throughput: ${(latencies.length / seconds).toFixed(1)} requests/s, ${(tokens / seconds).toFixed(0)} generated tokens/s (${tokens} tokens in ${seconds.toFixed(2)} s)`);
    if (latencies.length) {
      console.log(`latency: p50 ${percentile(latencies, 50).toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms, max ${latencies.at(-1)!.toFixed(0)} ms`);
    }
    console.log(`errors: ${errorCount}${errorCount ? ` (${[...errors].map(([kind, n]) => `${n}× ${kind}`).join('; ')})` : ''}`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
