/**
 * Side by side with llama.cpp (issue 9 item 6). Prints figures; asserts nothing.
 *   npm run bench:peer -- [--layers 4] [--threads 1,2] [--precisions f32,int8,int4] [--rounds 3] [--passes 1]
 *                         [--steered] [--keep DIR]
 * Writes one random OLMoE-shaped checkpoint (DESIGN §4: hidden 2048, 16 heads × 128, 64 experts, k 8, expert
 * width 1024, vocab 50304; 4 layers unless --layers), in the HF layout our engine opens and, from the same
 * weights, as GGUF F32 / Q8_0 / Q4_0 for llama.cpp (run through node-llama-cpp's prebuilt CPU binary). Then, for
 * each matched precision (f32↔F32, int8↔Q8_0, int4↔Q4_0) and thread count, runs our engine and llama.cpp one after
 * the other, each in its own child process, on the same 128-token prompt with 64 greedy decode tokens, and prints
 * prefill and decode tokens/s, our/peer ratios and each side's peak RSS. Our side runs with routing capture on
 * (--steered: and steering on, under a mask that changes nothing). Each child reports how much CPU other processes
 * took meanwhile: on this shared 2-core machine that, more than anything, moves the 2-thread figures.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureCheckpoint, folderBytes, olmoeShaped } from './checkpoints.ts';
import { writeOlmoeGgufs, type GgufFileType } from './hf-to-gguf.ts';
import {
  BENCH_PRECISIONS, childFailure, describeOthers, engineHasPrecision, gb, isRefused, runChild, type BenchPrecision, type BuildReport,
  type RefusedReport, type RunReport,
} from './measure.ts';

const { values: args } = parseArgs({
  options: {
    layers: { type: 'string', default: '4' }, threads: { type: 'string', default: '1,2' },
    precisions: { type: 'string', default: 'f32,int8,int4' }, rounds: { type: 'string', default: '3' },
    passes: { type: 'string', default: '1' }, steered: { type: 'boolean', default: false }, keep: { type: 'string' },
  },
});
const layers = Number(args.layers);
const threadCounts = args.threads.split(',').map(Number);
const precisions = args.precisions.split(',') as BenchPrecision[];
for (const p of precisions) if (!BENCH_PRECISIONS.includes(p)) throw new Error(`unknown precision ${p} (f32, int8, int4)`);
const PROMPT = 128;
const DECODE = 64;
const GGUF_TYPE: Record<BenchPrecision, GgufFileType> = { f32: 'F32', int8: 'Q8_0', int4: 'Q4_0' };

const work = args.keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mote-peer-'));
const checkpointDir = path.join(work, `olmoe-${layers}l`);
const cacheRoot = path.join(work, 'cache');
if (!args.keep) {
  const cleanup = () => fs.rmSync(work, { recursive: true, force: true });
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
}

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '—');

interface Row {
  precision: BenchPrecision;
  threads: number;
  ours: RunReport | string;
  peer: RunReport | string;
}

function describeRun(r: RunReport): string {
  const m = r.afterRun;
  return `prefill ${fmt(r.prefill).padStart(6)} tok/s  decode ${fmt(r.decode, 2).padStart(6)} tok/s  ` +
    `(rounds ${r.rounds.map((x) => `${fmt(x.prefill)}/${fmt(x.decode, 2)}`).join(', ')})  load ${fmt(r.loadSeconds)} s  ` +
    `peak RSS ${gb(m.maxRss)} GB (after run: RSS ${gb(m.vmRss)} = anon ${gb(m.rssAnon)} + file ${gb(m.rssFile)})` +
    (r.estimate ? `; engine's estimate ${gb(r.estimate)} GB at ${r.enginePrecision}` : '');
}

async function main(): Promise<void> {
  const withPrecision = engineHasPrecision();
  console.log(`MoTE vs llama.cpp — ${os.cpus().length} cores, ${gb(os.totalmem())} GB RAM, work folder ${work}`);
  console.log(`OLMoE shape, ${layers} layers, prompt ${PROMPT}, ${DECODE} greedy decode tokens, median of ${args.rounds} rounds per child, ` +
    `${args.passes} pass(es); our side: routing capture on${args.steered ? ', steering on (neutral mask)' : ''}`);
  if (!withPrecision) console.log('our engine has no precision option yet (RunnerOptions.precision): only f32 on our side');

  const written = ensureCheckpoint(checkpointDir, olmoeShaped(layers));
  console.log(`checkpoint: ${gb(folderBytes(checkpointDir))} GB BF16${written ? `, written in ${fmt(written)} s` : ' (reused)'}`);
  const t0 = performance.now();
  const ggufs = writeOlmoeGgufs(checkpointDir, path.join(work, 'gguf'), precisions.map((p) => GGUF_TYPE[p]));
  console.log(`GGUF: ${precisions.map((p) => `${GGUF_TYPE[p]} ${gb(fs.statSync(ggufs[GGUF_TYPE[p]]).size)} GB`).join(', ')} ` +
    `(${fmt((performance.now() - t0) / 1000)} s)`);

  const rows: Row[] = [];
  const common = ['--rounds', args.rounds, '--prompt', String(PROMPT), '--decode', String(DECODE)];
  for (const precision of precisions) {
    const oursAvailable = precision === 'f32' || withPrecision;
    const cacheDir = path.join(cacheRoot, precision);
    console.log(`\n${precision} ↔ ${GGUF_TYPE[precision]}`);
    let oursSkip: string | null = oursAvailable ? null : 'engine has no precision option yet';
    if (!oursSkip) {
      const build = await runChild<BuildReport | RefusedReport>(['ours-build', '--dir', checkpointDir, '--cache', cacheDir, '--precision', precision]);
      if (!build.result) oursSkip = childFailure(build);
      else if (isRefused(build.result)) oursSkip = `refused by the engine's memory guard: ${build.result.refused}`;
      else {
        const b = build.result;
        console.log(`  ours: graphs ${b.fromCache ? 'from cache' : 'built'}, cold open ${fmt(b.coldOpenSeconds)} s, graph files ${gb(b.graphBytes)} GB, ` +
          `peak RSS ${gb(b.afterOpen.maxRss)} GB (at last layer built ${gb(b.maxRssAtLastLayer)} GB)`);
      }
    }
    for (const threads of threadCounts) {
      const row: Row = { precision, threads, ours: oursSkip ?? 'not run', peer: 'not run' };
      const runs: { ours: RunReport[]; peer: RunReport[] } = { ours: [], peer: [] };
      for (let pass = 0; pass < Number(args.passes); pass++) {
        if (!oursSkip) {
          const o = await runChild<RunReport | RefusedReport>(['ours', '--dir', checkpointDir, '--cache', cacheDir, '--precision', precision,
            '--threads', String(threads), ...(args.steered ? ['--steered'] : []), ...common]);
          if (!o.result) row.ours = childFailure(o);
          else if (isRefused(o.result)) row.ours = `refused by the engine's memory guard: ${o.result.refused}`;
          else runs.ours.push({ ...o.result, notes: [...o.result.notes, describeOthers(o)] });
        }
        const p = await runChild<RunReport>(['llama', '--gguf', ggufs[GGUF_TYPE[precision]], '--vocab', String(olmoeShaped(layers).config.vocab_size), '--threads', String(threads), ...common]);
        if (!p.result) row.peer = childFailure(p);
        else runs.peer.push({ ...p.result, notes: [...p.result.notes, describeOthers(p)] });
      }
      if (runs.ours.length) row.ours = best(runs.ours);
      if (runs.peer.length) row.peer = best(runs.peer);
      rows.push(row);
      console.log(`  ${threads} thread(s)`);
      for (const [side, r] of [['ours     ', row.ours], ['llama.cpp', row.peer]] as const) {
        console.log(`    ${side} ${typeof r === 'string' ? r : describeRun(r)}`);
        if (typeof r !== 'string') console.log(`              ${r.notes.join('; ')}`);
      }
      if (typeof row.ours !== 'string' && typeof row.peer !== 'string') {
        const a = row.ours.tokens;
        const b = row.peer.tokens;
        let same = 0;
        while (same < Math.min(a.length, b.length) && a[same] === b[same]) same++;
        console.log(`    greedy tokens: the first ${same} of ${a.length} agree between the sides`);
      }
    }
  }

  console.log(`\nsummary (tok/s; ratio = ours / llama.cpp; each side in its own process, peak RSS = that process's maxRSS):`);
  console.log('  precision  threads │ ours prefill  decode │ llama prefill  decode │ ratio prefill  decode │ peak RSS ours / llama');
  for (const r of rows) {
    const o = typeof r.ours === 'string' ? null : r.ours;
    const p = typeof r.peer === 'string' ? null : r.peer;
    const label = `${r.precision}↔${GGUF_TYPE[r.precision]}`.padEnd(11);
    console.log(`  ${label} ${String(r.threads).padStart(6)}  │ ${fmt(o?.prefill ?? NaN).padStart(12)} ${fmt(o?.decode ?? NaN, 2).padStart(7)} │ ` +
      `${fmt(p?.prefill ?? NaN).padStart(13)} ${fmt(p?.decode ?? NaN, 2).padStart(7)} │ ` +
      `${(o && p ? `${(o.prefill / p.prefill).toFixed(2)}×` : '—').padStart(13)} ${(o && p ? `${(o.decode / p.decode).toFixed(2)}×` : '—').padStart(7)} │ ` +
      `${o ? gb(o.afterRun.maxRss) : '—'} / ${p ? gb(p.afterRun.maxRss) : '—'} GB`);
  }
  console.log('  (goal: ratio ≥ 1.0×; figures drift between machines: compare only within one run)');
}

/** Of several passes, the one with the best decode rate (least disturbed by the shared machine). */
function best(runs: RunReport[]): RunReport {
  return runs.reduce((a, b) => (b.decode > a.decode ? b : a));
}

await main();
