import fs from 'node:fs';
import os from 'node:os';
import { choosePrecision, estimateMemory, type MemoryEstimate } from '../model/memory-estimate.ts';
import type { Precision } from '../model/precision.ts';
import type { ModelSpec } from '../model/spec.ts';
import type { PrecisionChoice } from '../protocol/types.ts';

/** The context a model opens with unless one is asked for: long enough for chat and probe work, and its KV cache
 * stays small next to the weights (models declare up to 128k, whose cache alone can exceed the weights). */
export const DEFAULT_CONTEXT = 4096;

/** The context a model runs with: the one asked for (default DEFAULT_CONTEXT), at most the model's. */
export function runContext(spec: Pick<ModelSpec, 'contextLength'>, requested?: number): number {
  const context = Math.min(requested ?? DEFAULT_CONTEXT, spec.contextLength);
  if (!(Number.isInteger(context) && context > 0)) throw new Error(`context must be a positive number of tokens, got ${requested}`);
  return context;
}

/**
 * Memory a model may take: what the system can give without swapping (MemAvailable on Linux, os.freemem()
 * elsewhere) plus `releasing` (a loaded model about to be let go), at most MOTE_MEMORY_LIMIT bytes when set (to
 * keep room for other work on a shared machine).
 */
export function availableMemory(releasing = 0, env: NodeJS.ProcessEnv = process.env): number {
  const limit = env.MOTE_MEMORY_LIMIT === undefined ? Infinity : Number(env.MOTE_MEMORY_LIMIT);
  if (!(limit > 0)) throw new Error(`MOTE_MEMORY_LIMIT must be a positive number of bytes, got ${JSON.stringify(env.MOTE_MEMORY_LIMIT)}`);
  return Math.min(limit, systemAvailable() + releasing);
}

function systemAvailable(): number {
  try {
    const line = fs.readFileSync('/proc/meminfo', 'utf8').split('\n').find((l) => l.startsWith('MemAvailable:'));
    if (line) return Number(line.split(/\s+/)[1]) * 1024;
  } catch {
    // not Linux
  }
  return os.freemem();
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

export interface MemoryPlan {
  precision: Precision;
  context: number;
  estimate: MemoryEstimate;
}

/**
 * Resolves a precision choice for a model at a context, refusing what will not fit: the message names the estimate,
 * the memory available and what would fit (a narrower precision, or a shorter context).
 */
export function planMemory(spec: ModelSpec, choice: PrecisionChoice, context: number, options: { available?: number; threads?: number } = {}): MemoryPlan {
  const available = options.available ?? availableMemory();
  const estimateOptions = { threads: options.threads || 2 };
  if (choice === 'auto') {
    const chosen = choosePrecision(spec, available, context, estimateOptions);
    if (chosen.precision) return { precision: chosen.precision, context, estimate: chosen.estimates[chosen.estimates.length - 1] };
    throw new Error(`${spec.modelType} does not fit in memory: ${chosen.reason}${shorterContext(spec, context, available, estimateOptions)}`);
  }
  const estimate = estimateMemory(spec, choice, context, estimateOptions);
  if (estimate.total <= available) return { precision: choice, context, estimate };
  const fits = choosePrecision(spec, available, context, estimateOptions).precision;
  const hint = fits ? `; try precision ${fits} (${gib(estimateMemory(spec, fits, context, estimateOptions).total)})` : shorterContext(spec, context, available, estimateOptions);
  throw new Error(`${choice} needs ${gib(estimate.total)} for ${spec.modelType} at a context of ${context} tokens ` +
    `(weights ${gib(estimate.weights.total)}, KV cache ${gib(estimate.kvCache)}, workspace ${gib(estimate.workspace.total)}), ` +
    `${gib(available)} available${hint}`);
}

/** A hint naming the longest power-of-two context (≥ 512) at which some precision fits, if any. */
function shorterContext(spec: ModelSpec, context: number, available: number, options: { threads: number }): string {
  for (let shorter = 2 ** Math.floor(Math.log2(context - 1)); shorter >= 512; shorter /= 2) {
    const fits = choosePrecision(spec, available, shorter, options);
    if (fits.precision) return `; try precision ${fits.precision} with a context of ${shorter} tokens`;
  }
  return '; no precision fits even at a context of 512 tokens';
}
