/**
 * Engine benchmark (issue: engine core §8). Prints figures; asserts nothing.
 *   npm run bench -- [--threads N] [--keep DIR]
 * Writes an OLMoE-shaped random checkpoint (hidden 2048, 16 heads × 128, 64 experts, k 8, expert width 1024,
 * 4 layers, vocab 50304; BF16 on disk, float32 in the graph) and measures, in one run:
 * - prefill tokens/s (128-token prompt) and decode tokens/s (64 greedy tokens) on the instrumented graph with
 *   steering active (as under any mask) and inactive (unsteered steps), and on the plain graph, as ratios;
 * - ms per MoE layer (one fused MoE op, one token) beside the memory-bandwidth bound: active expert bytes per token
 *   ÷ read bandwidth measured with the same number of threads (parallel memcmp of large buffers).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { ExternalWeights, GraphBuilder, float } from '../engine/model/onnx/graph.ts';
import { ModelRunner } from '../engine/runtime/model-runner.ts';
import { OrtSession } from '../engine/runtime/ort-session.ts';
import { argmax } from '../engine/runtime/sampling.ts';
import type { SteeringTensors } from '../engine/steering/steering-tensors.ts';
import { ensureCheckpoint as writeBenchCheckpoint, olmoeShaped } from './checkpoints.ts';

const { values: args } = parseArgs({ options: { threads: { type: 'string', default: '1' }, keep: { type: 'string' } } });
const threads = Number(args.threads);
const SHAPE = { hidden: 2048, heads: 16, headDim: 128, experts: 64, k: 8, expertWidth: 1024, layers: 4, vocab: 50304 };
const PROMPT_TOKENS = 128;
const DECODE_TOKENS = 64;
const ROUNDS = 3;

const work = args.keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mote-bench-'));
const checkpointDir = path.join(work, 'olmoe-shaped');
const cacheDir = path.join(work, 'cache');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function ensureCheckpoint(): void {
  const seconds = writeBenchCheckpoint(checkpointDir, olmoeShaped(SHAPE.layers));
  if (seconds > 0) console.log(`wrote checkpoint in ${seconds.toFixed(1)} s: ${checkpointDir}`);
}

async function timeGeneration(runner: ModelRunner, prompt: number[], steering: SteeringTensors): Promise<{ prefill: number; decode: number }> {
  const t0 = performance.now();
  let { result, cache } = await runner.step(runner.emptyCache(), prompt, steering, 1);
  const t1 = performance.now();
  for (let i = 0; i < DECODE_TOKENS; i++) {
    ({ result, cache } = await runner.step(cache, [argmax(result.logits)], steering, 1));
  }
  const t2 = performance.now();
  return { prefill: prompt.length / ((t1 - t0) / 1000), decode: DECODE_TOKENS / ((t2 - t1) / 1000) };
}

/**
 * Memory read bandwidth with `threads` readers: each worker compares two identical 256 MiB buffers (libc memcmp,
 * vectorised, read-only), all at once.
 */
async function measureBandwidth(): Promise<number> {
  const bytes = 256 * 1024 * 1024;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const a = Buffer.alloc(workerData, 1), b = Buffer.alloc(workerData, 1);
    parentPort.on('message', () => { const t0 = performance.now(); a.compare(b); parentPort.postMessage(performance.now() - t0); });
    parentPort.postMessage(0);`;
  const workers = Array.from({ length: threads }, () => new Worker(code, { eval: true, workerData: bytes }));
  const next = (w: Worker) => new Promise<number>((resolve) => w.once('message', resolve));
  await Promise.all(workers.map(next));
  const rates: number[] = [];
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    await Promise.all(workers.map((w) => { const done = next(w); w.postMessage('go'); return done; }));
    rates.push((2 * bytes * threads) / ((performance.now() - t0) / 1000));
  }
  await Promise.all(workers.map((w) => w.terminate()));
  return Math.max(...rates);
}

/** One fused MoE op at the benchmark shape, one token. */
async function moeLayerMs(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(work, 'moe-'));
  const { hidden: H, experts: E, expertWidth: I, k } = SHAPE;
  const weights = new ExternalWeights(path.join(dir, 'data.bin'), 'data.bin');
  const g = new GraphBuilder(weights);
  const fill = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.02);
  const fc1 = g.weight('fc1', [E, 2 * I, H], () => Array.from({ length: E }, () => fill(2 * I * H)));
  const fc2 = g.weight('fc2', [E, H, I], () => Array.from({ length: E }, () => fill(H * I)));
  const x = g.input('x', 'float', [1, H]);
  const r = g.input('r', 'float', [1, E]);
  const y = g.op1('MoE', [x, r, fc1, '', fc2], {
    k, activation_type: 'swiglu', swiglu_fusion: 1, normalize_routing_weights: 1,
    activation_alpha: float(1), activation_beta: float(0), swiglu_limit: float(Infinity),
  }, 'com.microsoft');
  g.bindOutput(y, 'y', 'float', [1, H]);
  weights.close();
  fs.writeFileSync(path.join(dir, 'm.onnx'), g.finish('moe'));
  const session = await OrtSession.create(path.join(dir, 'm.onnx'), { threads });
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const feeds = {
      x: { type: 'float32' as const, data: fill(H), dims: [1, H] },
      r: { type: 'float32' as const, data: Float32Array.from({ length: E }, (_, e) => Math.sin(e * 7 + i)), dims: [1, E] },
    };
    const t0 = performance.now();
    await session.run(feeds);
    if (i >= 5) times.push(performance.now() - t0);
  }
  await session.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
  return median(times);
}

async function main(): Promise<void> {
  console.log(`MoTE engine benchmark — ${os.cpus().length} cores, ${threads} thread(s), work folder ${work}`);
  ensureCheckpoint();
  const open = async (routing: boolean) => {
    const t0 = performance.now();
    const runner = await ModelRunner.open(checkpointDir, { threads, cacheDir, routing });
    console.log(`${routing ? 'routing' : 'plain'} runner: graphs ${runner.fromCache ? 'loaded' : 'built and loaded'} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return runner;
  };
  const instrumented = await open(true);
  const plain = await open(false);
  // A mask that changes nothing, marked active, takes the steering ops: what every steered step costs.
  const conditions = [
    { label: 'instrumented graph, steering active', runner: instrumented, steering: { ...instrumented.steering(), active: true } },
    { label: 'instrumented graph, unsteered', runner: instrumented, steering: instrumented.steering() },
    { label: 'plain graph', runner: plain, steering: plain.steering() },
  ];
  const prompt = Array.from({ length: PROMPT_TOKENS }, (_, i) => (i * 7919) % SHAPE.vocab);
  for (const c of conditions) await timeGeneration(c.runner, prompt.slice(0, 8), c.steering);
  const runs = conditions.map(() => [] as { prefill: number; decode: number }[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, c] of conditions.entries()) runs[i].push(await timeGeneration(c.runner, prompt, c.steering));
  }
  await instrumented.dispose();
  await plain.dispose();
  const figures = runs.map((rs) => ({ prefill: median(rs.map((r) => r.prefill)), decode: median(rs.map((r) => r.decode)) }));
  const base = figures[figures.length - 1];
  console.log(`\nmedian of ${ROUNDS} rounds, prompt ${PROMPT_TOKENS} tokens, ${DECODE_TOKENS} decode tokens (float32):`);
  conditions.forEach((c, i) => {
    const f = figures[i];
    console.log(`  ${c.label.padEnd(36)} prefill ${f.prefill.toFixed(1)} tok/s   decode ${f.decode.toFixed(2)} tok/s   ` +
      `ratio to plain ${(f.prefill / base.prefill).toFixed(3)} / ${(f.decode / base.decode).toFixed(3)}`);
  });
  console.log('  (target: ratio ≥ 0.97 with routing capture and steering on)');

  const bandwidth = await measureBandwidth();
  const layerMs = await moeLayerMs();
  const activeBytes = SHAPE.k * 3 * SHAPE.hidden * SHAPE.expertWidth * 4;
  const boundMs = (activeBytes / bandwidth) * 1000;
  console.log(`\nMoE layer, 1 token: ${layerMs.toFixed(2)} ms; bandwidth bound ${boundMs.toFixed(2)} ms ` +
    `(${(activeBytes / 2 ** 20).toFixed(0)} MiB active experts ÷ ${(bandwidth / 1e9).toFixed(1)} GB/s measured) → ${((boundMs / layerMs) * 100).toFixed(0)} % of bound`);
  if (!args.keep) fs.rmSync(work, { recursive: true, force: true });
}

await main();
