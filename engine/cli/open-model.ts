import type { Command } from 'commander';
import { PRECISIONS } from '../model/precision.ts';
import { loadTokenizer, type TextTokenizer } from '../model/tokenizer.ts';
import type { PrecisionChoice } from '../protocol/types.ts';
import { DEFAULT_CONTEXT } from '../runtime/memory-guard.ts';
import { ModelRunner } from '../runtime/model-runner.ts';
import type { ExpertMask } from '../steering/mask.ts';
import { checkMaskFits, toExpertMask, type MaskFile } from '../steering/mask-file.ts';
import { choiceArg, intArg } from './arguments.ts';
import { progressReporter } from './progress.ts';

/** How a command opens its model: --threads, --precision, --context. */
export interface ModelOpenOptions {
  threads: number;
  precision: PrecisionChoice;
  context?: number;
}

/** The options of every command that opens a model, defined once. */
export function modelOptions(command: Command): Command {
  return command
    .option('--precision <p>', `weights: auto (the widest that fits in memory: f32, then int8, then int4), ${PRECISIONS.join(', ')}`,
      choiceArg('--precision', ['auto', ...PRECISIONS] as const), 'auto')
    .option('--context <n>', `longest sequence, prompt and output together (default: the model's, at most ${DEFAULT_CONTEXT})`, intArg('--context', 16))
    .option('--threads <n>', 'onnxruntime intra-op threads (0 = automatic)', intArg('--threads'), 0);
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;

/**
 * Opens a checkpoint for a CLI command, reporting the graph build and then the precision, context and memory
 * estimate on stderr. The memory guard refuses a model that will not fit before anything is built.
 */
export async function openModel(dir: string, opts: ModelOpenOptions): Promise<{ runner: ModelRunner; tokenizer: TextTokenizer }> {
  const report = progressReporter('building graph');
  const runner = await ModelRunner.open(dir, {
    threads: opts.threads, precision: opts.precision, context: opts.context, onBuildProgress: (done, total) => report(done, total, 'layers'),
  });
  const m = runner.memory;
  process.stderr.write(`${runner.spec.modelType} at ${runner.precision}${opts.precision === 'auto' ? ' (auto)' : ''}, context ${runner.spec.contextLength} tokens, ` +
    `estimated ${gib(m.total)} (weights ${gib(m.weights.total)}, KV cache ${gib(m.kvCache)})\n`);
  try {
    return { runner, tokenizer: await loadTokenizer(runner.checkpoint.dir, runner.checkpoint.config) };
  } catch (err) {
    await runner.dispose();
    throw err;
  }
}

/**
 * Checks a mask file against the loaded model; warnings go to stderr. Commands read the file (readMaskFile) before
 * opening the model, so a malformed file fails at once rather than after a graph build.
 */
export function fitMask(runner: ModelRunner, file: string, parsed: MaskFile): ExpertMask {
  const { warnings } = checkMaskFits(parsed, runner.identity, file);
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  const mask = toExpertMask(parsed);
  runner.steering(mask, file);
  return mask;
}
