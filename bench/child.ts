/**
 * One measurement in its own process (started by bench/peer.ts and bench/real-size.ts through runChild), so the
 * peak RSS it reports is that side's alone. Prints "LOG …" lines and one "RESULT {json}" line.
 *   child.ts ours-build --dir D --cache C [--precision P]              cold open: graph build + session load
 *   child.ts ours  --dir D --cache C --threads N [--precision P] [--steered] [--rounds R] [--prompt 128] [--decode 64]
 *   child.ts llama --gguf F --vocab V --threads N [--rounds R] [--prompt 128] [--decode 64]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ModelRunner, type RunnerOptions } from '../engine/runtime/model-runner.ts';
import { argmax } from '../engine/runtime/sampling.ts';
import type { SteeringTensors } from '../engine/steering/steering-tensors.ts';
import {
  benchPrompt, median, memorySnapshot, type BenchPrecision, type BuildReport, type GenerationFigures, type RefusedReport,
  type RunReport,
} from './measure.ts';

const { positionals, values: args } = parseArgs({
  allowPositionals: true,
  options: {
    dir: { type: 'string' }, cache: { type: 'string' }, gguf: { type: 'string' },
    threads: { type: 'string', default: '1' }, precision: { type: 'string', default: 'f32' },
    steered: { type: 'boolean', default: false }, rounds: { type: 'string', default: '3' },
    prompt: { type: 'string', default: '128' }, decode: { type: 'string', default: '64' },
    vocab: { type: 'string' },
  },
});
const mode = positionals[0];
const threads = Number(args.threads);
const rounds = Number(args.rounds);
const promptLength = Number(args.prompt);
const decodeTokens = Number(args.decode);
const precision = args.precision as BenchPrecision;

const log = (line: string) => console.log(`LOG ${line}`);
const report = (result: unknown) => console.log(`RESULT ${JSON.stringify(result)}`);

/**
 * ModelRunner.open's options plus `precision`, which the engine takes once issue 9 item 1 lands. Passed through a
 * variable of this wider type, so this compiles against the engine with or without it; the parent only asks for
 * int8 / int4 when the engine's RunnerOptions declares `precision`.
 */
type OpenOptions = RunnerOptions & { precision?: BenchPrecision };

function openOptions(extra: Partial<OpenOptions> = {}): OpenOptions {
  // Always explicit: the engine's default is 'auto' (the widest precision that fits), not f32.
  return { threads, cacheDir: args.cache, routing: true, precision, ...extra };
}

/** The engine's memory guard refuses with an error naming the numbers; anything else is a failure. */
function guardRefusal(err: unknown): string | null {
  const message = err instanceof Error ? err.message : String(err);
  return /needs .*available|available.*needs|no precision fits|does not fit|not fit|memory guard|insufficient memory|too large for/i.test(message) ? message : null;
}

/** What the runner says it resolved (present once the engine has precisions and the memory guard). */
function resolved(runner: ModelRunner): { enginePrecision?: string; estimate?: number } {
  const r = runner as unknown as { precision?: string; memory?: { total?: number } };
  return { enginePrecision: r.precision, estimate: r.memory?.total };
}

function folderBytes(dir: string): number {
  let sum = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    sum += entry.isDirectory() ? folderBytes(p) : fs.statSync(p).size;
  }
  return sum;
}

async function oursBuild(): Promise<void> {
  let maxRssAtLastLayer = 0;
  const t0 = performance.now();
  let runner: ModelRunner;
  try {
    runner = await ModelRunner.open(args.dir!, openOptions({
      onBuildProgress: (done, total) => {
        if (done === total) maxRssAtLastLayer = process.resourceUsage().maxRSS * 1024;
        if (done === 1 || done === total || done % 4 === 0) log(`build: layer ${done}/${total} after ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      },
    }));
  } catch (err) {
    const refused = guardRefusal(err);
    if (!refused) throw err;
    report({ refused } satisfies RefusedReport);
    return;
  }
  const coldOpenSeconds = (performance.now() - t0) / 1000;
  const afterOpen = memorySnapshot();
  await runner.dispose();
  report({
    ...resolved(runner), coldOpenSeconds, fromCache: runner.fromCache, maxRssAtLastLayer: maxRssAtLastLayer || afterOpen.maxRss, afterOpen,
    graphBytes: args.cache ? folderBytes(args.cache) : NaN,
  } satisfies BuildReport);
}

async function oursRun(): Promise<void> {
  const t0 = performance.now();
  let runner: ModelRunner;
  try {
    runner = await ModelRunner.open(args.dir!, openOptions());
  } catch (err) {
    const refused = guardRefusal(err);
    if (!refused) throw err;
    report({ refused, afterLoad: memorySnapshot() } satisfies RefusedReport);
    return;
  }
  const loadSeconds = (performance.now() - t0) / 1000;
  const afterLoad = memorySnapshot();
  // A mask that changes nothing, marked active, takes the steering ops (what every steered step costs).
  const steering: SteeringTensors = args.steered ? { ...runner.steering(), active: true } : runner.steering();
  const prompt = benchPrompt(promptLength, runner.spec.vocabSize);
  let routedSteps = 0;
  const generate: Generate = async (ids, steps) => {
    const t1 = performance.now();
    let { result, cache } = await runner.step(runner.emptyCache(), ids, steering, 1);
    const t2 = performance.now();
    const tokens = [argmax(result.logits)];
    for (let i = 0; i < steps; i++) {
      if (result.routing) routedSteps++;
      ({ result, cache } = await runner.step(cache, [tokens[tokens.length - 1]], steering, 1));
      tokens.push(argmax(result.logits));
    }
    const t3 = performance.now();
    return { prefill: ids.length / ((t2 - t1) / 1000), decode: steps / ((t3 - t2) / 1000), tokens };
  };
  const runs = await measuredRounds(generate, prompt);
  const afterRun = memorySnapshot();
  await runner.dispose();
  report({
    ...resolved(runner), side: 'ours', precision, threads, loadSeconds, fromCache: runner.fromCache,
    prefill: median(runs.map((r) => r.prefill)), decode: median(runs.map((r) => r.decode)),
    rounds: runs.map(({ prefill, decode }) => ({ prefill, decode })), tokens: runs[0].tokens, afterLoad, afterRun,
    notes: [`${args.steered ? 'steering on (neutral mask)' : 'steering off'}; routing returned on ${routedSteps} of ${rounds * decodeTokens + 4} decode steps`],
  } satisfies RunReport);
}

async function llamaRun(): Promise<void> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const t0 = performance.now();
  // build 'never': only the prebuilt binaries from npm (@node-llama-cpp/linux-x64); never download or compile.
  // maxThreads 0: the context's thread count is used as given.
  const llama = await getLlama({ build: 'never', gpu: false, logLevel: LlamaLogLevel.error, progressLogs: false, maxThreads: 0 });
  const model = await llama.loadModel({ modelPath: args.gguf!, gpuLayers: 0 });
  const context = await model.createContext({
    contextSize: 512, batchSize: 512, sequences: 1, threads: { ideal: threads, min: threads },
  });
  const sequence = context.getSequence();
  const loadSeconds = (performance.now() - t0) / 1000;
  const afterLoad = memorySnapshot();
  type Token = Parameters<typeof sequence.evaluate>[0][number];
  const prompt = benchPrompt(promptLength, Number(args.vocab));
  const generate: Generate = async (ids, steps) => {
    await sequence.clearHistory();
    const tokens: number[] = [];
    const t1 = performance.now();
    let t2 = t1;
    for await (const token of sequence.evaluate(ids as Token[], { temperature: 0, yieldEogToken: true })) {
      tokens.push(token);
      if (tokens.length === 1) t2 = performance.now();
      if (tokens.length === steps + 1) break;
    }
    const t3 = performance.now();
    return { prefill: ids.length / ((t2 - t1) / 1000), decode: steps / ((t3 - t2) / 1000), tokens };
  };
  const runs = await measuredRounds(generate, prompt);
  const afterRun = memorySnapshot();
  const notes = [
    `llama.cpp ${llama.llamaCppRelease.release} (${llama.buildType} binary), threads ${context.currentThreads}, ` +
    `flash attention ${context.flashAttention}, mmap ${model.useMmap}, batch ${context.batchSize}`,
  ];
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  report({
    side: 'llama.cpp', precision: path.basename(args.gguf!).replace(/^.*-(\w+)\.gguf$/, '$1'), threads, loadSeconds,
    prefill: median(runs.map((r) => r.prefill)), decode: median(runs.map((r) => r.decode)),
    rounds: runs.map(({ prefill, decode }) => ({ prefill, decode })), tokens: runs[0].tokens, afterLoad, afterRun, notes,
  } satisfies RunReport);
}

if (mode === 'ours-build') await oursBuild();
else if (mode === 'ours') await oursRun();
else if (mode === 'llama') await llamaRun();
else throw new Error(`unknown mode ${mode}`);

type Generate = (ids: number[], steps: number) => Promise<GenerationFigures & { tokens: number[] }>;

/** A short warm-up generation, then `rounds` measured ones: what both sides run. */
async function measuredRounds(generate: Generate, prompt: number[]): Promise<(GenerationFigures & { tokens: number[] })[]> {
  await generate(prompt.slice(0, 8), 4);
  const runs: (GenerationFigures & { tokens: number[] })[] = [];
  for (let r = 0; r < rounds; r++) runs.push(await generate(prompt, decodeTokens));
  return runs;
}
