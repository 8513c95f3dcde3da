/**
 * Probe-run benchmark (issue: fTRI §7). Prints figures; asserts nothing.
 *   npm run bench:probe -- [--threads N] [--olmoe DIR (with tokenizer files)] [--cache DIR (graph cache to reuse)]
 * - probe-run throughput in prompt tokens/s with recording on (routing captured and stored in SQLite) vs off
 *   (the plain graph, nothing stored), as a ratio from one run, on the demo model and on an OLMoE-shaped checkpoint;
 * - SQLite ingest in token × layer selections per second (recordPrompt alone, OLMoE shape: 4 layers, k 8).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadTokenizer } from '../engine/model/tokenizer.ts';
import { expandProbeSet } from '../engine/probes/expand.ts';
import { loadProbeSet } from '../engine/probes/load-probe-set.ts';
import type { ProbeSet } from '../engine/probes/probe-set.ts';
import { probePromptIds } from '../engine/probes/prompt-tokens.ts';
import { runProbes } from '../engine/probes/run-probes.ts';
import { ModelRunner } from '../engine/runtime/model-runner.ts';
import { openDatabase } from '../engine/store/database.ts';
import { createRun, recordPrompt } from '../engine/store/runs.ts';
import { writeTinyCheckpoint } from '../test/helpers/checkpoints.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({ options: { threads: { type: 'string', default: '1' }, olmoe: { type: 'string' }, cache: { type: 'string' } } });
const threads = Number(args.threads);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-probe-bench-'));
const cacheDir = args.cache ?? path.join(work, 'cache');

async function throughput(label: string, modelDir: string, set: ProbeSet, rounds: number): Promise<void> {
  const recording = await ModelRunner.open(modelDir, { threads, cacheDir });
  const plain = await ModelRunner.open(modelDir, { threads, cacheDir, routing: false });
  const tokenizer = await loadTokenizer(modelDir, recording.checkpoint.config);
  const expanded = expandProbeSet(set);
  const tokens = expanded.reduce((a, p) => a + probePromptIds(set, p, tokenizer).ids.length, 0);
  const on: number[] = [];
  const off: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const db = openDatabase(path.join(work, `${label}-${round}.db`));
    let t0 = performance.now();
    await runProbes(db, recording, tokenizer, { set, setPath: label, generateTokens: 0, forceNew: true });
    on.push(tokens / ((performance.now() - t0) / 1000));
    db.close();
    t0 = performance.now();
    for (const p of expanded) await plain.step(plain.emptyCache(), probePromptIds(set, p, tokenizer).ids, plain.steering(), 1);
    off.push(tokens / ((performance.now() - t0) / 1000));
  }
  const best = (xs: number[]) => Math.max(...xs);
  console.log(`${label}: ${expanded.length} prompts, ${tokens} prompt tokens; best of ${rounds} rounds`);
  console.log(`  recording on  ${best(on).toFixed(0)} tok/s   off ${best(off).toFixed(0)} tok/s   ratio ${(best(on) / best(off)).toFixed(3)} (target ≥ 0.95)`);
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
const demoDir = path.join(ROOT, 'models/demo');
await throughput('demo model, demo-refusal set', demoDir, loadProbeSet(path.join(ROOT, 'probes/demo-refusal.json')), 3);
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
await throughput('OLMoE-shaped, 8 prompts of ~41 tokens', olmoeDir, syntheticSet, 2);
ingest();
fs.rmSync(work, { recursive: true, force: true });
