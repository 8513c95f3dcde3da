import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModelRunner } from '../../engine/runtime/model-runner.ts';
import { argmax } from '../../engine/runtime/sampling.ts';
import type { SteeringTensors } from '../../engine/steering/steering-tensors.ts';

/** One graph cache per test process, removed at exit. */
export const testCacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-test-cache-'));
process.on('exit', () => fs.rmSync(testCacheDir, { recursive: true, force: true }));

export function openRunner(dir: string): Promise<ModelRunner> {
  return ModelRunner.open(dir, { cacheDir: testCacheDir, threads: 1 });
}

export interface TokenRouting {
  layer: number;
  routerLogits: number[];
  selected: number[];
  weights: number[];
}

/** Greedy decoding through the KV cache, collecting what the golden files record. */
export async function greedyWithCache(runner: ModelRunner, promptIds: number[], steps: number, steering: SteeringTensors) {
  const V = runner.spec.vocabSize;
  const k = runner.spec.topK;
  const E = runner.spec.numExperts;
  const prefillLogits: Float32Array[] = [];
  const stepLogits: Float32Array[] = [];
  /** [moe layer][token] */
  const routing: TokenRouting[][] = runner.moeLayers.map(() => []);
  const generated: number[] = [];
  let { result, cache } = await runner.step(runner.emptyCache(), promptIds, steering, promptIds.length);
  for (let t = 0; t < promptIds.length; t++) prefillLogits.push(result.logits.slice(t * V, (t + 1) * V));
  for (let i = 0; ; i++) {
    const r = result.routing!;
    runner.moeLayers.forEach((layer, l) => {
      for (let t = 0; t < r.tokens; t++) {
        const at = (l * r.tokens + t) * k;
        const sel = Array.from(r.selected.subarray(at, at + k));
        routing[l].push({
          layer,
          routerLogits: Array.from(r.routerLogits.subarray((l * r.tokens + t) * E, (l * r.tokens + t + 1) * E)),
          selected: sel.filter((e) => e >= 0),
          weights: Array.from(r.weights.subarray(at, at + k)).filter((_, j) => sel[j] >= 0),
        });
      }
    });
    const last = result.logits.slice((result.rows - 1) * V, result.rows * V);
    stepLogits.push(last);
    if (i === steps) break;
    const id = argmax(last);
    generated.push(id);
    ({ result, cache } = await runner.step(cache, [id], steering, 1));
  }
  return { prefillLogits, stepLogits, routing, generated };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
