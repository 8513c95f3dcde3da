/**
 * Where a decode step's time goes, per onnxruntime op type (what bench:peer's ratios do not say):
 *   npm run bench:profile -- MODEL_DIR PRECISION CACHE_DIR
 * Builds (or reuses) the engine's graphs for the checkpoint at that precision, then runs the instrumented graph with
 * onnxruntime's profiler on, at 1 thread: a 128-token prefill and 32 decode steps, unsteered, and prints the kernel
 * time of each op type over the decode steps. Prints figures, asserts nothing.
 */
import fs from 'node:fs';
import ort from 'onnxruntime-node';
import { parsePrecision } from '../engine/model/precision.ts';
import { GRAPH_IO } from '../engine/model/onnx/build-graph.ts';
import { MLAS_Q4_MOE_ENV } from '../engine/model/onnx/quantize.ts';
import { ModelRunner } from '../engine/runtime/model-runner.ts';

const [dir, precisionArg, cache] = process.argv.slice(2);
if (!dir || !precisionArg || !cache) throw new Error('usage: npm run bench:profile -- MODEL_DIR PRECISION CACHE_DIR');
const precision = parsePrecision(precisionArg, 'PRECISION');
if (precision === 'auto') throw new Error('PRECISION: name one (f32, bf16-as-f32, int8, int4)');
process.env[MLAS_Q4_MOE_ENV] = '1';
const runner = await ModelRunner.open(dir, { cacheDir: cache, threads: 1, precision });
const spec = runner.spec; const moe = runner.moeLayers.length;
await runner.dispose();
const graphDir = fs.readdirSync(`${cache}/graphs`).map((d) => `${cache}/graphs/${d}`).find((d) => JSON.parse(fs.readFileSync(`${d}/source.json`, 'utf8')).precision === precision)!;
// The engine's session options (engine/runtime/ort-session.ts), profiler on.
const session = await ort.InferenceSession.create(`${graphDir}/instrumented.onnx`, {
  intraOpNumThreads: 1, interOpNumThreads: 1, enableCpuMemArena: true, graphOptimizationLevel: 'all',
  enableProfiling: true, profileFilePrefix: `${cache}/profile-${precision}`,
});
const E = spec.numExperts;
const kv = (P: number, d: number) => new ort.Tensor('float32', new Float32Array(spec.numKvHeads * P * d), [spec.numKvHeads, P, d]);
let past: ort.Tensor[][] = Array.from({ length: spec.numLayers }, () => [kv(0, spec.headDim), kv(0, spec.valueHeadDim)]);
const step = async (ids: number[], pos0: number) => {
  const feeds: Record<string, ort.Tensor> = {
    [GRAPH_IO.inputIds]: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [ids.length]),
    [GRAPH_IO.positionIds]: new ort.Tensor('int64', BigInt64Array.from(ids, (_, i) => BigInt(pos0 + i)), [ids.length]),
    [GRAPH_IO.logitsFrom]: new ort.Tensor('int64', BigInt64Array.of(BigInt(ids.length - 1)), [1]),
    [GRAPH_IO.steeringActive]: new ort.Tensor('bool', Uint8Array.of(0), []),
    [GRAPH_IO.expertBias]: new ort.Tensor('float32', new Float32Array(moe * E), [moe, E]),
    [GRAPH_IO.expertDropped]: new ort.Tensor('bool', new Uint8Array(moe * E), [moe, E]),
    [GRAPH_IO.expertMaxWeight]: new ort.Tensor('bool', new Uint8Array(moe * E), [moe, E]),
  };
  past.forEach(([k, v], i) => { feeds[GRAPH_IO.pastKey(i)] = k; feeds[GRAPH_IO.pastValue(i)] = v; });
  const out = await session.run(feeds);
  past = past.map((_, i) => [out[GRAPH_IO.presentKey(i)] as ort.Tensor, out[GRAPH_IO.presentValue(i)] as ort.Tensor]);
};
const t0 = performance.now();
await step(Array.from({ length: 128 }, (_, i) => (i * 7) % (spec.vocabSize - 10) + 5), 0);
const t1 = performance.now();
for (let i = 0; i < 32; i++) await step([(17 + i) % spec.vocabSize], 128 + i);
const t2 = performance.now();
session.endProfiling();
console.log(`prefill ${(128000 / (t1 - t0)).toFixed(1)} tok/s, decode ${(32000 / (t2 - t1)).toFixed(2)} tok/s`);
const profile = fs.readdirSync(cache).filter((f) => f.startsWith(`profile-${precision}`) && f.endsWith('.json'))
  .map((f) => `${cache}/${f}`).sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
const events = JSON.parse(fs.readFileSync(profile, 'utf8')) as { cat: string; name: string; dur: number; ts: number; args?: { op_name?: string } }[];
const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
const decodeStart = runs[1].ts;
const byOp = new Map<string, number>();
let total = 0;
for (const e of events) if (e.cat === 'Node' && e.ts >= decodeStart && e.name.endsWith('_kernel_time')) {
  const op = e.args?.op_name ?? '?'; byOp.set(op, (byOp.get(op) ?? 0) + e.dur); total += e.dur;
}
const runTotal = runs.slice(1).reduce((a, r) => a + r.dur, 0);
console.log(`decode: ${runs.length - 1} runs, ${(runTotal / 1000).toFixed(1)} ms in runs, ${(total / 1000).toFixed(1)} ms in kernels`);
for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${op.padEnd(22)} ${(us / 1000 / (runs.length - 1)).toFixed(2)} ms/token  ${(100 * us / runTotal).toFixed(1)} %`);
