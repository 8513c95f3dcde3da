/**
 * Probe-run benchmark (issue: fTRI §7). Prints figures; asserts nothing.
 *   npm run bench:probe -- [--threads N] [--olmoe DIR (with tokenizer files)] [--cache DIR (graph cache to reuse)]
 * - probe-run throughput in prompt tokens/s with recording on (runProbes: routing captured, one SQLite transaction
 *   per prompt) vs off (the same prompts and generation on the plain graph, output classified, nothing stored), on
 *   the demo model (prefill only, the CLI's default, and 16 generated tokens, the app's default) and on an
 *   OLMoE-shaped checkpoint. On and off alternate round by round (on first in odd rounds), and the ratio is taken
 *   per pair of adjacent rounds: a 2-core VM's speed drifts by more than the effect measured, so the median pair
 *   ratio with its quartiles is the figure, not a ratio of two bests;
 * - SQLite ingest in token × layer selections per second (recordPrompt alone, OLMoE shape: 4 layers, k 8).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadTokenizer, type TextTokenizer } from '../engine/model/tokenizer.ts';
import { classifyOutput } from '../engine/probes/classify.ts';
import { expandProbeSet } from '../engine/probes/expand.ts';
import { loadProbeSet } from '../engine/probes/load-probe-set.ts';
import type { ProbeSet } from '../engine/probes/probe-set.ts';
import { probePromptIds } from '../engine/probes/prompt-tokens.ts';
import { runProbes } from '../engine/probes/run-probes.ts';
import { generate } from '../engine/runtime/generate.ts';
import { ModelRunner } from '../engine/runtime/model-runner.ts';
import { openDatabase } from '../engine/store/database.ts';
import { createRun, recordPrompt } from '../engine/store/runs.ts';
import { writeTinyCheckpoint } from '../test/helpers/checkpoints.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({ options: { threads: { type: 'string', default: '1' }, olmoe: { type: 'string' }, cache: { type: 'string' } } });
const threads = Number(args.threads);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-probe-bench-'));
const cacheDir = args.cache ?? path.join(work, 'cache');

interface Condition {
  label: string;
  set: ProbeSet;
  generateTokens: number;
  /** Pairs of one recording-on and one recording-off round. */
  pairs: number;
}

/** The probe run without recording: every prompt run (and generated from, and classified) on the plain graph. */
async function runUnrecorded(plain: ModelRunner, tokenizer: TextTokenizer, set: ProbeSet, generateTokens: number): Promise<void> {
  for (const prompt of expandProbeSet(set)) {
    const { ids } = probePromptIds(set, prompt, tokenizer);
    if (generateTokens === 0 || prompt.response !== undefined) {
      await plain.step(plain.emptyCache(), ids, plain.steering(), 1);
      continue;
    }
    for await (const event of generate(plain, tokenizer, ids, { maxTokens: generateTokens, eosTokenIds: tokenizer.eosTokenIds })) {
      if (event.type === 'done' && set.classifier) classifyOutput(set.classifier, event.text);
    }
  }
}

async function throughput(c: Condition, recording: ModelRunner, plain: ModelRunner, tokenizer: TextTokenizer): Promise<void> {
  const expanded = expandProbeSet(c.set);
  const tokens = expanded.reduce((a, p) => a + probePromptIds(c.set, p, tokenizer).ids.length, 0);
  let dbs = 0;
  const timed = async (run: () => Promise<unknown>) => {
    const t0 = performance.now();
    await run();
    return (performance.now() - t0) / 1000;
  };
  const on = async () => {
    const db = openDatabase(path.join(work, `probe-${dbs++}.db`));
    try {
      return await timed(() => runProbes(db, recording, tokenizer, { set: c.set, setPath: c.label, generateTokens: c.generateTokens, forceNew: true }));
    } finally {
      db.close();
    }
  };
  const off = () => timed(() => runUnrecorded(plain, tokenizer, c.set, c.generateTokens));
  await on();
  await off();
  const onSeconds: number[] = [];
  const offSeconds: number[] = [];
  const ratios: number[] = [];
  for (let pair = 0; pair < c.pairs; pair++) {
    let onS: number;
    let offS: number;
    if (pair % 2) {
      onS = await on();
      offS = await off();
    } else {
      offS = await off();
      onS = await on();
    }
    onSeconds.push(onS);
    offSeconds.push(offS);
    ratios.push(offS / onS);
  }
  const q = (xs: number[], f: number) => [...xs].sort((x, y) => x - y)[Math.round(f * (xs.length - 1))];
  const tps = (seconds: number) => (tokens / seconds).toFixed(0);
  console.log(`${c.label}: ${expanded.length} prompts, ${tokens} prompt tokens, ${c.generateTokens} generated; ${c.pairs} pairs of rounds`);
  console.log(`  recording on ${tps(q(onSeconds, 0.5))} tok/s, off ${tps(q(offSeconds, 0.5))} tok/s (medians); `
    + `on/off ratio median ${q(ratios, 0.5).toFixed(3)}, quartiles ${q(ratios, 0.25).toFixed(3)}–${q(ratios, 0.75).toFixed(3)} (target ≥ 0.95)`);
}

async function benchModel(modelDir: string, conditions: Condition[]): Promise<void> {
  const recording = await ModelRunner.open(modelDir, { threads, cacheDir });
  const plain = await ModelRunner.open(modelDir, { threads, cacheDir, routing: false });
  const tokenizer = await loadTokenizer(modelDir, recording.checkpoint.config);
  for (const c of conditions) await throughput(c, recording, plain, tokenizer);
  await recording.dispose();
  await plain.dispose();
}

function ingest(): void {
  const layers = [0, 1, 2, 3];
  const k = 8;
  const experts = 64;
  const db = openDatabase(path.join(work, 'ingest.db'));
  const runId = createRun(db, {
    modelDir: '-', modelHash: '-', model: { architecture: 'olmoe', layers: 4, experts, topK: k, checkpoint: '-' }, setId: 'ingest', setPath: '-',
    set: { type: 'paired', id: 'ingest', title: 'ingest', classes: [{ id: 'a' }, { id: 'b' }], items: [] },
    generateTokens: 0, mask: null, recordLogits: false, promptCount: 400, moeLayers: layers, numExperts: experts, topK: k,
  });
  const tokens = 128;
  let selections = 0;
  const t0 = performance.now();
  for (let idx = 0; idx < 400; idx++) {
    const selected = Int16Array.from({ length: tokens * layers.length * k }, (_, i) => (i * 7 + idx * 13 + Math.floor(i / k) * 5) % experts);
    recordPrompt(db, runId, {
      idx, class: idx % 2 ? 'a' : 'b', text: '', responseForced: null, answer: null, tokenIds: new Int32Array(tokens), promptTokens: tokens,
      outputText: '', label: null, correct: null, selected, weights: new Float32Array(selected.length),
    }, layers, k);
    selections += tokens * layers.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(`SQLite ingest: ${(selections / seconds).toFixed(0)} token × layer selections/s (${(400 / seconds).toFixed(0)} prompts of 128 tokens/s, 4 layers, k 8)`);
  db.close();
}

console.log(`MoTE probe-run benchmark — ${os.cpus().length} cores, ${threads} thread(s)`);
const demoSet = loadProbeSet(path.join(ROOT, 'probes/demo-refusal.json'));
await benchModel(path.join(ROOT, 'models/demo'), [
  { label: 'demo model, demo-refusal set, prefill only', set: demoSet, generateTokens: 0, pairs: 30 },
  { label: 'demo model, demo-refusal set, 16 generated tokens', set: demoSet, generateTokens: 16, pairs: 10 },
]);
const olmoeDir = args.olmoe ?? path.join(work, 'olmoe-shaped');
if (!args.olmoe) {
  writeTinyCheckpoint(olmoeDir, {
    family: 'olmoe', seed: 3, dtype: 'BF16', tokenizer: true,
    config: { hidden_size: 2048, num_attention_heads: 16, num_key_value_heads: 16, num_experts: 64, num_experts_per_tok: 8, intermediate_size: 1024, num_hidden_layers: 4, vocab_size: 50304 },
  });
}
const words = Array.from({ length: 60 }, (_, i) => `t${i + 2}`);
const syntheticSet: ProbeSet = {
  id: 'synthetic', title: 'synthetic', type: 'templates', chat: false, classes: [{ id: 'a' }, { id: 'b' }],
  templates: [{ text: `${words.slice(0, 40).join(' ')} {x}` }],
  slots: { x: { a: words.slice(40, 44), b: words.slice(44, 48) } },
};
await benchModel(olmoeDir, [{ label: 'OLMoE-shaped, 8 prompts of ~41 tokens, prefill only', set: syntheticSet, generateTokens: 0, pairs: 3 }]);
ingest();
fs.rmSync(work, { recursive: true, force: true });
