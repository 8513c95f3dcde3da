import { loadTokenizer, type TextTokenizer } from '../model/tokenizer.ts';
import { ModelRunner } from '../runtime/model-runner.ts';
import type { ExpertMask } from '../steering/mask.ts';
import { checkMaskFits, modelIdentity, readMaskFile, toExpertMask } from '../steering/mask-file.ts';
import { progressReporter } from './progress.ts';

/** Opens a checkpoint for a CLI command, reporting the graph build on stderr. */
export async function openModel(dir: string, threads: number): Promise<{ runner: ModelRunner; tokenizer: TextTokenizer }> {
  const report = progressReporter('building graph');
  const runner = await ModelRunner.open(dir, { threads, onBuildProgress: (done, total) => report(done, total, 'layers') });
  try {
    return { runner, tokenizer: await loadTokenizer(runner.checkpoint.dir, runner.checkpoint.config) };
  } catch (err) {
    await runner.dispose();
    throw err;
  }
}

/** Reads a mask file and checks it against the loaded model; warnings go to stderr. */
export function loadMaskFor(runner: ModelRunner, file: string): ExpertMask {
  const parsed = readMaskFile(file);
  const { warnings } = checkMaskFits(parsed, modelIdentity(runner.spec, runner.checkpoint.contentHash), file);
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  const mask = toExpertMask(parsed);
  runner.steering(mask, file);
  return mask;
}
