import { summarizeCheckpoint } from '../cli/inspect.ts';
import type { Checkpoint } from '../model/checkpoint.ts';
import { choosePrecision, estimateMemory, type MemoryEstimate } from '../model/memory-estimate.ts';
import { AUTO_PRECISIONS } from '../model/precision.ts';
import type { MemoryEstimates, MemoryFigures, ModelInfo } from '../protocol/types.ts';
import { availableMemory, runContext } from '../runtime/memory-guard.ts';
import type { ModelRunner } from '../runtime/model-runner.ts';

export function memoryFigures(e: MemoryEstimate): MemoryFigures {
  return { precision: e.precision, context: e.context, weights: e.weights.total, kvCache: e.kvCache, workspace: e.workspace.total, total: e.total };
}

/** What the UI shows about the loaded model: the `mote inspect` summary at the context it runs with, its tokenizer,
 * identity (with the precision) and the memory estimate it was admitted with. */
export function modelInfo(runner: ModelRunner, hasChatTemplate: boolean, demo: boolean): ModelInfo {
  return {
    ...summarizeCheckpoint(runner.checkpoint), demo, hasChatTemplate, identity: runner.identity, precision: runner.precision,
    memory: memoryFigures(runner.memory),
  };
}

/**
 * Each precision's estimate for a checkpoint not yet opened (the Model view shows them before Open); `releasing` is
 * the loaded model's memory, given back before another opens.
 */
export function memoryEstimates(checkpoint: Checkpoint, context: number | undefined, threads = 0, releasing = 0): MemoryEstimates {
  const { spec } = checkpoint;
  const ctx = runContext(spec, context);
  const available = availableMemory(releasing);
  const options = { threads: threads || 2 };
  return {
    folder: checkpoint.dir, architecture: spec.modelType, modelContext: spec.contextLength, context: ctx, available,
    estimates: AUTO_PRECISIONS.map((p) => memoryFigures(estimateMemory(spec, p, ctx, options))),
    auto: choosePrecision(spec, available, ctx, options).precision,
  };
}
