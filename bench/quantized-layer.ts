/**
 * Quantised layers on onnxruntime-node (issue: --precision). Prints figures; asserts nothing.
 *   npx tsx bench/quantized-layer.ts [--threads 1,2] [--keep DIR]
 * Writes, once, random-weight graphs of
 * - one OLMoE-shaped MoE layer (64 experts, k 8, hidden 2048, expert width 1024): the float32 MoE op, QMoE int8 and
 *   QMoE int4 (block 32, MLAS-style scales; run with and without ORT_USE_MLAS_Q4_GEMM_MOE=1);
 * - an LM head 2048 → 50304: Gemm float32, MatMulNBits int8 / int4 (accuracy_level 0 and 4);
 * then runs each in its own process (so that its peak RSS is its own; the MLAS variable is set in process.env
 * there before the session is created) for 1 token and 128 tokens, with each thread count. Per run: session
 * creation time, RSS added by the session, process peak RSS (process.resourceUsage().maxRSS), median step times.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ExternalWeights, GraphBuilder, float } from '../engine/model/onnx/graph.ts';
import {
  MLAS_Q4_MOE_ENV, matMulNBits, qmoe, quantizedBytes, quantizedExperts, quantizedWeight, type AccuracyLevel,
} from '../engine/model/onnx/quantize.ts';
import { OrtSession } from '../engine/runtime/ort-session.ts';
import { Prng } from '../test/helpers/prng.ts';

const SHAPE = { hidden: 2048, experts: 64, k: 8, inter: 1024, vocab: 50304 };
const TOKENS = [1, 128];
const RUNS: Record<number, number> = { 1: 30, 128: 5 };
const WARMUP = 3;

interface Variant {
  name: string;
  /** Model folder (under the work folder). */
  model: string;
  kind: 'moe' | 'head';
  mlasQ4Moe?: boolean;
  /** Bytes one token reads from the weights (active experts, or the whole head). */
  activeBytes: number;
}

interface ChildResult {
  createMs: number;
  /** RSS added by creating the session, and by the end of the runs (every weight touched). */
  sessionRss: number;
  steadyRss: number;
  maxRss: number;
  ms: Record<number, number>;
}

const { hidden: H, experts: E, inter: I, k: K, vocab: V } = SHAPE;
const expertWeights = 3 * H * I;

const VARIANTS: Variant[] = [
  { name: 'MoE float32', model: 'moe-f32', kind: 'moe', activeBytes: K * expertWeights * 4 },
  { name: 'QMoE int8', model: 'moe-q8', kind: 'moe', activeBytes: K * quantizedBytes(1, expertWeights, 8) },
  { name: 'QMoE int4', model: 'moe-q4', kind: 'moe', activeBytes: K * quantizedBytes(1, expertWeights, 4) },
  { name: `QMoE int4 ${MLAS_Q4_MOE_ENV}=1`, model: 'moe-q4', kind: 'moe', mlasQ4Moe: true, activeBytes: K * quantizedBytes(1, expertWeights, 4) },
  { name: 'LM head Gemm float32', model: 'head-f32', kind: 'head', activeBytes: V * H * 4 },
  { name: 'LM head MatMulNBits int8 acc0', model: 'head-q8-acc0', kind: 'head', activeBytes: quantizedBytes(V, H, 8) },
  { name: 'LM head MatMulNBits int8 acc4', model: 'head-q8-acc4', kind: 'head', activeBytes: quantizedBytes(V, H, 8) },
  { name: 'LM head MatMulNBits int4 acc0', model: 'head-q4-acc0', kind: 'head', activeBytes: quantizedBytes(V, H, 4) },
  { name: 'LM head MatMulNBits int4 acc4', model: 'head-q4-acc4', kind: 'head', activeBytes: quantizedBytes(V, H, 4) },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** Expert e's matrices, regenerated from a seed (so no model needs them all in memory). */
function* expertMatrices(which: 'fc1' | 'fc2'): Generator<Float32Array> {
  for (let e = 0; e < E; e++) {
    const m = new Float32Array(which === 'fc1' ? 2 * I * H : H * I);
    new Prng(which === 'fc1' ? 1000 + e : 2000 + e).fillNormal(m, 0, 0.02);
    yield m;
  }
}

function* headRows(): Generator<Float32Array> {
  const rows = 4096;
  for (let r = 0; r < V; r += rows) {
    const m = new Float32Array(Math.min(rows, V - r) * H);
    new Prng(3000 + r).fillNormal(m, 0, 0.02);
    yield m;
  }
}

function writeModel(dir: string, build: (g: GraphBuilder) => { y: string; n: number }): void {
  if (fs.existsSync(path.join(dir, 'model.onnx'))) return;
  fs.mkdirSync(dir, { recursive: true });
  const weights = new ExternalWeights(path.join(dir, 'weights.bin'), 'weights.bin');
  const g = new GraphBuilder(weights);
  g.input('x', 'float', ['T', H]);
  const { y, n } = build(g);
  g.bindOutput(y, 'y', 'float', ['T', n]);
  weights.close();
  fs.writeFileSync(path.join(dir, 'model.onnx'), g.finish(path.basename(dir)));
}

function writeModels(work: string): void {
  const timed = (label: string, f: () => void) => {
    const t0 = performance.now();
    f();
    console.log(`  ${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };
  console.log('writing models (random weights, N(0, 0.02²)):');
  timed('MoE float32', () => writeModel(path.join(work, 'moe-f32'), (g) => {
    g.input('z', 'float', ['T', E]);
    const fc1 = g.weight('fc1', [E, 2 * I, H], () => expertMatrices('fc1'));
    const fc2 = g.weight('fc2', [E, H, I], () => expertMatrices('fc2'));
    return {
      y: g.op1('MoE', ['x', 'z', fc1, '', fc2], {
        k: K, activation_type: 'swiglu', swiglu_fusion: 1, normalize_routing_weights: 1,
        activation_alpha: float(1), activation_beta: float(0), swiglu_limit: float(Infinity),
      }, 'com.microsoft'),
      n: H,
    };
  }));
  for (const bits of [8, 4] as const) {
    timed(`QMoE int${bits} (generate + quantise + write)`, () => writeModel(path.join(work, `moe-q${bits}`), (g) => {
      g.input('z', 'float', ['T', E]);
      const w = quantizedExperts(g, 'moe', { experts: E, hidden: H, inter: I }, { fc1: () => expertMatrices('fc1'), fc2: () => expertMatrices('fc2') }, bits);
      return { y: qmoe(g, 'x', 'z', w, { k: K, normalize: true }), n: H };
    }));
  }
  timed('LM head float32', () => writeModel(path.join(work, 'head-f32'), (g) => ({
    y: g.op1('Gemm', ['x', g.weight('head', [V, H], headRows)], { transB: 1 }),
    n: V,
  })));
  for (const bits of [8, 4] as const) {
    for (const accuracyLevel of [0, 4] as AccuracyLevel[]) {
      timed(`LM head int${bits} acc${accuracyLevel}`, () => writeModel(path.join(work, `head-q${bits}-acc${accuracyLevel}`), (g) => ({
        y: matMulNBits(g, 'x', quantizedWeight(g, 'head', V, H, headRows, bits), { accuracyLevel }),
        n: V,
      })));
    }
  }
}

/** In a child process: load one model, time it, report JSON on stdout. */
async function child(variant: Variant, work: string, threads: number): Promise<void> {
  if (variant.mlasQ4Moe) process.env[MLAS_Q4_MOE_ENV] = '1';
  else delete process.env[MLAS_Q4_MOE_ENV];
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const session = await OrtSession.create(path.join(work, variant.model, 'model.onnx'), { threads });
  const createMs = performance.now() - t0;
  const sessionRss = process.memoryUsage().rss - before;
  const rng = new Prng(7);
  const ms: Record<number, number> = {};
  for (const T of TOKENS) {
    const times: number[] = [];
    for (let i = 0; i < WARMUP + RUNS[T]; i++) {
      const x = new Float32Array(T * H);
      rng.fillNormal(x, 0, 1);
      const feeds: Parameters<OrtSession['run']>[0] = { x: { type: 'float32', data: x, dims: [T, H] } };
      if (variant.kind === 'moe') {
        const z = new Float32Array(T * E);
        rng.fillNormal(z, 0, 1);
        feeds.z = { type: 'float32', data: z, dims: [T, E] };
      }
      const start = performance.now();
      await session.run(feeds);
      if (i >= WARMUP) times.push(performance.now() - start);
    }
    ms[T] = median(times);
  }
  const steadyRss = process.memoryUsage().rss - before;
  await session.dispose();
  const result: ChildResult = { createMs, sessionRss, steadyRss, maxRss: process.resourceUsage().maxRSS * 1024, ms };
  console.log(JSON.stringify(result));
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: { threads: { type: 'string', default: '1,2' }, keep: { type: 'string' }, child: { type: 'string' } },
  });
  if (args.child) {
    const { variant, work, threads } = JSON.parse(args.child) as { variant: Variant; work: string; threads: number };
    await child(variant, work, threads);
    return;
  }
  const work = args.keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mote-qbench-'));
  console.log(`quantised layers — ${os.cpus().length} cores (${os.cpus()[0]?.model}), work folder ${work}`);
  writeModels(work);
  const self = fileURLToPath(import.meta.url);
  const threadCounts = args.threads.split(',').map(Number);
  console.log('\nper variant, in its own process; step times are medians ' +
    `(${RUNS[1]} runs at 1 token, ${RUNS[128]} at 128, after ${WARMUP} warm-up runs):`);
  const base = process.memoryUsage().rss;
  console.log(`RSS of a process before any session (node, tsx, onnxruntime): ${mib(base)}; +RSS: after session creation / ` +
    'after the runs, over the RSS before creation; peak: the process\'s maxRSS');
  console.log(`${'variant'.padEnd(36)} thr  create   +RSS create/runs  peak RSS   1 tok ms  128 tok ms  weights read/token`);
  for (const variant of VARIANTS) {
    for (const threads of threadCounts) {
      const env = { ...process.env };
      delete env[MLAS_Q4_MOE_ENV]; // the child sets it itself, in process.env, when its variant asks for it
      const run = spawnSync(process.execPath, [...process.execArgv, self, '--child', JSON.stringify({ variant, work, threads })],
        { encoding: 'utf8', env, maxBuffer: 1 << 20 });
      const line = run.stdout.trim().split('\n').pop() ?? '';
      if (run.status !== 0 || !line.startsWith('{')) {
        console.log(`${variant.name.padEnd(36)} ${String(threads).padStart(3)}  FAILED: ${(run.stderr || line).trim().split('\n').slice(-3).join(' | ')}`);
        continue;
      }
      const r = JSON.parse(line) as ChildResult;
      console.log(`${variant.name.padEnd(36)} ${String(threads).padStart(3)}  ${(r.createMs / 1000).toFixed(1).padStart(5)} s ` +
        `${mib(r.sessionRss).padStart(9)} / ${mib(r.steadyRss).padStart(8)} ${mib(r.maxRss).padStart(9)} ${r.ms[1].toFixed(2).padStart(10)} ${r.ms[128].toFixed(1).padStart(11)}  ` +
        `${mib(variant.activeBytes)} (${((variant.activeBytes / (r.ms[1] / 1000)) / 1e9).toFixed(1)} GB/s at 1 token)`);
    }
  }
  if (!args.keep) fs.rmSync(work, { recursive: true, force: true });
}

await main();
