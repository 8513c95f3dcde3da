import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ReadableDB } from '../../engine/store/database.ts';
import { getCounts, getPromptRouting, getPrompts, type NewRun, type PromptRecord } from '../../engine/store/runs.ts';
import { SPANS, type Span } from '../../engine/store/span-counts.ts';

/** A fresh directory, removed when the test process exits. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-store-test-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function newRun(shape: { moeLayers: number[]; numExperts: number; topK: number }, promptCount = 10): NewRun {
  return {
    modelDir: '/models/tiny',
    modelHash: 'sha256:abc',
    model: { architecture: 'qwen3_moe', layers: 6, experts: shape.numExperts, topK: shape.topK, checkpoint: 'sha256:abc', precision: 'int8' },
    setId: 'refusal-demo',
    setPath: 'probes/refusal-demo.yaml',
    set: { type: 'paired', id: 'refusal-demo', title: 'Refusal demo', classes: [{ id: 'a' }, { id: 'b' }], items: [] },
    generateTokens: 8,
    mask: null,
    recordLogits: false,
    promptCount,
    ...shape,
  };
}

export const CLASSES = ['benign', 'harmful', 'neutral'];

/**
 * The same random prompt for the same (seed, idx): distinct experts per token and layer, some slots dropped,
 * sometimes no response, sometimes an unrouted last token.
 */
export function randomPrompt(seed: number, idx: number, layers: number, k: number, experts: number, logits = false): PromptRecord {
  const uniform = mulberry32(seed * 100_003 + idx);
  const int = (n: number) => Math.floor(uniform() * n);
  const promptTokens = 1 + int(12);
  const responseTokens = uniform() < 0.2 ? 0 : int(10);
  const total = promptTokens + responseTokens;
  const routed = responseTokens > 0 && uniform() < 0.2 ? total - 1 : total;
  const selected = new Int16Array(routed * layers * k);
  const weights = new Float32Array(selected.length);
  for (let at = 0; at < selected.length; at += k) {
    const pool = [...Array(experts).keys()];
    for (let j = 0; j < k; j++) {
      const expert = pool.splice(int(pool.length), 1)[0];
      const dropped = uniform() < 0.15;
      selected[at + j] = dropped ? -1 : expert;
      weights[at + j] = dropped ? 0 : uniform();
    }
  }
  return {
    idx,
    class: CLASSES[int(CLASSES.length)],
    text: `prompt ${idx}`,
    responseForced: uniform() < 0.5 ? `forced ${idx}` : null,
    answer: null,
    tokenIds: Int32Array.from({ length: total }, () => int(50_000)),
    promptTokens,
    outputText: `output ${idx}`,
    label: uniform() < 0.5 ? 'refusal' : 'compliance',
    correct: null,
    selected,
    weights,
    routerLogits: logits ? Float32Array.from({ length: routed * layers * experts }, () => uniform() * 20 - 10) : undefined,
  };
}

/** Uniform in [0, 1), seeded. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Counts for one span recomputed from the stored routing BLOBs, ordered as getCounts orders them. */
export function recomputeCounts(db: ReadableDB, runId: number, span: Span): ReturnType<typeof getCounts> {
  const totals = new Map<string, { tokens: number; prompts: number }>();
  const counts = new Map<string, { class: string; layer: number; expert: number; hits: number; promptRateSum: number }>();
  for (const prompt of getPrompts(db, runId)) {
    const r = getPromptRouting(db, runId, prompt.idx)!;
    const L = r.moeLayers.length;
    const inSpan = (t: number) => (span === 'prompt' ? t < r.promptTokens : span === 'response' ? t >= r.promptTokens : t === r.promptTokens - 1);
    const positions = [...Array(r.tokens).keys()].filter(inSpan);
    const total = totals.get(prompt.class) ?? { tokens: 0, prompts: 0 };
    total.tokens += positions.length;
    total.prompts += positions.length > 0 ? 1 : 0;
    totals.set(prompt.class, total);
    const hits = new Map<string, number>();
    for (const t of positions) {
      for (let l = 0; l < L; l++) {
        for (let j = 0; j < r.k; j++) {
          const expert = r.selected[(t * L + l) * r.k + j];
          if (expert < 0) continue;
          const key = `${r.moeLayers[l]}/${expert}`;
          hits.set(key, (hits.get(key) ?? 0) + 1);
        }
      }
    }
    for (const [key, n] of hits) {
      const [layer, expert] = key.split('/').map(Number);
      const entry = counts.get(`${prompt.class}/${key}`) ?? { class: prompt.class, layer, expert, hits: 0, promptRateSum: 0 };
      entry.hits += n;
      entry.promptRateSum += n / positions.length;
      counts.set(`${prompt.class}/${key}`, entry);
    }
  }
  const byClass = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return {
    classes: [...totals].map(([c, t]) => ({ class: c, ...t })).sort((a, b) => byClass(a.class, b.class)),
    counts: [...counts.values()].sort((a, b) => byClass(a.class, b.class) || a.layer - b.layer || a.expert - b.expert),
  };
}

/** Equal counts; rate sums are float sums that may be taken in another order, so they only agree to 1e-9. */
export function assertSameCounts(actual: ReturnType<typeof getCounts>, expected: ReturnType<typeof getCounts>, message?: string): void {
  const withoutRates = (r: ReturnType<typeof getCounts>) => ({ ...r, counts: r.counts.map((c) => ({ ...c, promptRateSum: 0 })) });
  assert.deepEqual(withoutRates(actual), withoutRates(expected), message);
  actual.counts.forEach((c, i) => {
    const want = expected.counts[i].promptRateSum;
    assert.ok(Math.abs(c.promptRateSum - want) < 1e-9, `${message ?? ''} rate sum of ${JSON.stringify(c)}: expected ${want}`);
  });
}

export function assertCountsMatchBlobs(db: ReadableDB, runId: number): void {
  for (const span of SPANS) assertSameCounts(getCounts(db, runId, span), recomputeCounts(db, runId, span), `span ${span}`);
}
