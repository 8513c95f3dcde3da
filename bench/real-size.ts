/**
 * Real-size checkpoints (issue 9 item 5). Prints figures; asserts nothing.
 *   npm run bench:real -- [--models olmoe,qwen3] [--qwen-layers 8] [--precisions f32,int8,int4] [--threads 1,2]
 *                         [--rounds 2] [--keep DIR]
 * Writes random checkpoints with the real configurations, BF16 on disk: OLMoE-1B-7B-0924 whole (16 layers) and
 * Qwen3-30B-A3B as a subset of its 48 layers (8 unless --qwen-layers; its per-layer figures are extrapolated to 48,
 * and the output says so). For each precision, one child process at a time:
 *   - a cold open (graph build + session load): build time and peak build memory (the child's maxRSS);
 *   - per thread count, an open from the graph cache, then prefill (128 tokens) and decode (64 greedy tokens) with
 *     routing capture on: load time, resident memory after load and after generating (VmRSS, and PSS split
 *     anonymous / file-backed: weights the runtime maps from the graph's data file are paged in on first use).
 * A precision the engine's memory guard refuses is skipped with its message. A watchdog kills any child that would
 * take the machine below ~1.2 GB available. The temporary folder (checkpoints, graph caches) is removed on exit;
 * each model's checkpoint is deleted once measured, so the disk holds one model at a time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureCheckpoint, folderBytes, realConfigs, type RealConfig } from './checkpoints.ts';
import {
  BENCH_PRECISIONS, childFailure, describeOthers, engineHasPrecision, gb, isRefused, memAvailable, runChild, type BenchPrecision,
  type BuildReport, type MemorySnapshot, type RefusedReport, type RunReport,
} from './measure.ts';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'olmoe,qwen3' }, 'qwen-layers': { type: 'string', default: '8' },
    precisions: { type: 'string', default: 'f32,int8,int4' }, threads: { type: 'string', default: '1,2' },
    rounds: { type: 'string', default: '2' }, keep: { type: 'string' },
  },
});
const precisions = args.precisions.split(',') as BenchPrecision[];
for (const p of precisions) if (!BENCH_PRECISIONS.includes(p)) throw new Error(`unknown precision ${p} (f32, int8, int4)`);
const threadCounts = args.threads.split(',').map(Number);
const wanted = args.models.split(',');
const models = realConfigs(Number(args['qwen-layers'])).filter((m) => wanted.some((w) => m.name.toLowerCase().startsWith(w.toLowerCase())));

const work = args.keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mote-real-'));
if (!args.keep) {
  process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
}

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '—');

/** Parameter counts from a config: what the embedding/LM head hold, and what one layer holds in total and per token. */
function parameters(config: Record<string, unknown>) {
  const n = (k: string) => config[k] as number;
  const H = n('hidden_size');
  const heads = n('num_attention_heads');
  const headDim = (config.head_dim as number | undefined) ?? H / heads;
  const E = n('num_experts');
  const I = (config.moe_intermediate_size as number | undefined) ?? n('intermediate_size');
  const V = n('vocab_size');
  const attention = 2 * H * heads * headDim + 2 * H * n('num_key_value_heads') * headDim;
  const expert = 3 * H * I;
  return {
    embedding: V * H, lmHead: config.tie_word_embeddings ? 0 : V * H, attention, router: E * H,
    experts: E * expert, activeExperts: n('num_experts_per_tok') * expert, layers: n('num_hidden_layers'),
  };
}

/** Bytes a weight takes at a precision: block-32 quantised with a float32 scale per block; f32 as is. */
const MATRIX_BYTES: Record<BenchPrecision, number> = { f32: 4, int8: 1 + 4 / 32, int4: 0.5 + 4 / 32 };

/** Estimated weight bytes of `layers` layers at a precision: in total, and read per decoded token. */
function weightBytes(config: Record<string, unknown>, precision: BenchPrecision, layers: number) {
  const p = parameters(config);
  const m = MATRIX_BYTES[precision];
  const embedding = p.embedding * (precision === 'f32' ? 4 : 2);
  const perLayerTotal = (p.attention + p.experts) * m + p.router * 4;
  const perLayerActive = (p.attention + p.activeExperts) * m + p.router * 4;
  return { total: embedding + p.lmHead * m + layers * perLayerTotal, active: p.lmHead * m + layers * perLayerActive };
}

function describeMemory(m: MemorySnapshot): string {
  return `RSS ${gb(m.vmRss)} GB (anon ${gb(m.rssAnon)} + file ${gb(m.rssFile)}), PSS ${gb(m.pss)} GB (anon ${gb(m.pssAnon)} + file ${gb(m.pssFile)})`;
}

async function measureModel(model: RealConfig, withPrecision: boolean): Promise<void> {
  const config = model.checkpoint.config;
  const layers = config.num_hidden_layers as number;
  const subset = layers < model.realLayers;
  const dir = path.join(work, model.name);
  console.log(`\n${model.name}: ${layers} of ${model.realLayers} layers${subset ? ` (a subset: figures for all ${model.realLayers} are extrapolated below)` : ''}`);
  const seconds = ensureCheckpoint(dir, model.checkpoint);
  console.log(`  checkpoint ${gb(folderBytes(dir))} GB BF16${seconds ? `, written in ${fmt(seconds)} s` : ' (reused)'}`);
  // Scale factors from this subset to the whole model: total weight bytes (memory, build) and bytes read per token (speed).
  const scale = (precision: BenchPrecision) => {
    const part = weightBytes(config, precision, layers);
    const whole = weightBytes(config, precision, model.realLayers);
    return { total: whole.total / part.total, active: whole.active / part.active, wholeTotal: whole.total };
  };

  for (const precision of precisions) {
    const cacheDir = path.join(work, `cache-${model.name}-${precision}`);
    const estimate = weightBytes(config, precision, layers).total;
    const label = `  ${precision.padEnd(4)}`;
    if (precision !== 'f32' && !withPrecision) {
      console.log(`${label} skipped: the engine has no precision option yet (RunnerOptions.precision)`);
      continue;
    }
    if (!withPrecision && estimate > 0.85 * memAvailable()) {
      console.log(`${label} skipped: ${gb(estimate)} GB of float32 weights, ${gb(memAvailable())} GB available, and this engine has ` +
        'no memory guard yet (the bench did not try: bench-side estimate)');
      continue;
    }
    const build = await runChild<BuildReport | RefusedReport>(['ours-build', '--dir', dir, '--cache', cacheDir, '--precision', precision]);
    if (!build.result) {
      console.log(`${label} build failed: ${childFailure(build)}`);
      fs.rmSync(cacheDir, { recursive: true, force: true });
      continue;
    }
    if (isRefused(build.result)) {
      console.log(`${label} skipped: the engine's memory guard refused: ${build.result.refused}`);
      continue;
    }
    const b = build.result;
    const s = scale(precision);
    console.log(`${label} build: cold open ${fmt(b.coldOpenSeconds)} s (graph build + session load), peak RSS ${gb(b.afterOpen.maxRss)} GB ` +
      `(${gb(b.maxRssAtLastLayer)} GB when the last layer was built; watchdog peak ${gb(build.peakSampledRss)} GB), ` +
      `graph files ${gb(b.graphBytes)} GB; weight estimate ${gb(estimate)} GB`);
    if (subset) {
      console.log(`${label}   extrapolated to ${model.realLayers} layers (× ${s.total.toFixed(2)} by weight bytes): build ≈ ${fmt(b.coldOpenSeconds * s.total)} s, ` +
        `graph files ≈ ${gb(b.graphBytes * s.total)} GB, weights ≈ ${gb(s.wholeTotal)} GB`);
    }
    for (const threads of threadCounts) {
      const run = await runChild<RunReport | RefusedReport>(['ours', '--dir', dir, '--cache', cacheDir, '--precision', precision,
        '--threads', String(threads), '--rounds', args.rounds]);
      if (!run.result) {
        console.log(`${label} ${threads} thread(s): failed: ${childFailure(run)}`);
        continue;
      }
      if (isRefused(run.result)) {
        console.log(`${label} ${threads} thread(s): skipped: the engine's memory guard refused at load: ${run.result.refused}`);
        continue;
      }
      const r = run.result;
      console.log(`${label} ${threads} thread(s): prefill ${fmt(r.prefill)} tok/s, decode ${fmt(r.decode, 2)} tok/s; load ${fmt(r.loadSeconds)} s; ` +
        `peak RSS ${gb(r.afterRun.maxRss)} GB (${describeOthers(run)})`);
      console.log(`${label}   resident after load: ${describeMemory(r.afterLoad)}`);
      console.log(`${label}   resident after generating (mapped weights paged in): ${describeMemory(r.afterRun)}`);
      if (r.estimate) {
        const off = (r.afterRun.vmRss / r.estimate - 1) * 100;
        console.log(`${label}   engine's memory estimate (${r.enginePrecision}): ${gb(r.estimate)} GB; resident after generating is ${off >= 0 ? '+' : ''}${off.toFixed(0)} % of it`);
      }
      if (subset) {
        console.log(`${label}   extrapolated to ${model.realLayers} layers: resident ≈ ${gb(r.afterRun.vmRss * s.total)} GB (× ${s.total.toFixed(2)}), ` +
          `prefill ≈ ${fmt(r.prefill / s.active)} tok/s, decode ≈ ${fmt(r.decode / s.active, 2)} tok/s (÷ ${s.active.toFixed(2)} by bytes read per token)`);
      }
    }
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
  if (!args.keep) fs.rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const withPrecision = engineHasPrecision();
  console.log(`MoTE real-size benchmark — ${os.cpus().length} cores, ${gb(os.totalmem())} GB RAM (${gb(memAvailable())} GB available), ` +
    `work folder ${work}; prompt 128, 64 greedy decode tokens, median of ${args.rounds} rounds; routing capture on`);
  if (!withPrecision) console.log('our engine has no precision option yet (RunnerOptions.precision): f32 only, where it fits');
  for (const model of models) await measureModel(model, withPrecision);
}

await main();
