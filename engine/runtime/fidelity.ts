import type { Checkpoint } from '../model/checkpoint.ts';
import type { Precision } from '../model/precision.ts';
import { ModelRunner, type RunnerOptions } from './model-runner.ts';
import { argmax } from './sampling.ts';

/** How closely a precision reproduces float32 on one sequence (engine/runtime/fidelity.ts). */
export interface FidelityRow {
  precision: Precision;
  /** Tokens × MoE layers compared. */
  routedTokens: number;
  /** Mean over tokens and MoE layers of |top-k ∩ float32's top-k| / k. */
  routingAgreement: number;
  /** Share of positions whose next token (argmax) equals float32's, on the same (float32 greedy) sequence. */
  greedyAgreement: number;
  /** Largest |logit − float32 logit| over every position and token. */
  maxLogitDelta: number;
}

interface Trace {
  logits: Float32Array;
  /** [L, T, k] */
  selected: Int32Array;
}

/** One prefill of the whole sequence, logits at every position. */
async function trace(runner: ModelRunner, ids: number[]): Promise<Trace> {
  const { result } = await runner.step(runner.emptyCache(), ids, runner.steering(), ids.length);
  return { logits: result.logits, selected: result.routing?.selected ?? new Int32Array(0) };
}

async function greedy(runner: ModelRunner, prompt: number[], steps: number): Promise<number[]> {
  const V = runner.spec.vocabSize;
  const ids = [...prompt];
  let { result, cache } = await runner.step(runner.emptyCache(), prompt, runner.steering(), 1);
  for (let i = 0; i < steps && ids.length < runner.spec.contextLength; i++) {
    const id = argmax(result.logits.subarray(0, V));
    ids.push(id);
    ({ result, cache } = await runner.step(cache, [id], runner.steering(), 1));
  }
  return ids;
}

/**
 * Compares each precision with float32 on the same sequences: float32's greedy continuation of each prompt
 * (`steps` tokens) is run through every precision in one prefill, so routing and next-token choices are compared
 * token by token on identical inputs. Models open one at a time.
 */
export async function measureFidelity(checkpoint: Checkpoint, prompts: number[][], steps: number, precisions: Precision[],
  options: Omit<RunnerOptions, 'precision'> = {}): Promise<FidelityRow[]> {
  const reference = await ModelRunner.open(checkpoint, { ...options, precision: 'f32' });
  const sequences: number[][] = [];
  const baseline: Trace[] = [];
  try {
    for (const prompt of prompts) {
      const ids = await greedy(reference, prompt, steps);
      sequences.push(ids);
      baseline.push(await trace(reference, ids));
    }
  } finally {
    await reference.dispose();
  }
  const { topK: k, vocabSize: V } = checkpoint.spec;
  const rows: FidelityRow[] = [];
  for (const precision of precisions) {
    const runner = await ModelRunner.open(checkpoint, { ...options, precision });
    let shared = 0;
    let slots = 0;
    let sameNext = 0;
    let positions = 0;
    let maxLogitDelta = 0;
    try {
      for (const [i, ids] of sequences.entries()) {
        const got = await trace(runner, ids);
        const want = baseline[i];
        for (let at = 0; at < want.selected.length; at += k) {
          const mine = got.selected.subarray(at, at + k);
          for (const e of want.selected.subarray(at, at + k)) if (mine.includes(e)) shared++;
          slots += k;
        }
        for (let t = 0; t < ids.length; t++) {
          const a = got.logits.subarray(t * V, (t + 1) * V);
          const b = want.logits.subarray(t * V, (t + 1) * V);
          if (argmax(a) === argmax(b)) sameNext++;
          positions++;
          for (let v = 0; v < V; v++) maxLogitDelta = Math.max(maxLogitDelta, Math.abs(a[v] - b[v]));
        }
      }
    } finally {
      await runner.dispose();
    }
    rows.push({ precision, routedTokens: slots / k, routingAgreement: slots ? shared / slots : 1, greedyAgreement: sameNext / positions, maxLogitDelta });
  }
  return rows;
}

export function formatFidelity(rows: FidelityRow[]): string {
  const pct = (v: number) => `${(v * 100).toFixed(2)} %`;
  return [
    ['precision', 'routing', 'next token', 'max |Δlogit|', 'routed tokens'].join('\t'),
    ...rows.map((r) => [r.precision, pct(r.routingAgreement), pct(r.greedyAgreement), r.maxLogitDelta.toPrecision(3), String(r.routedTokens)].join('\t')),
  ].join('\n');
}
