import { loadTokenizer, type TextTokenizer } from '../model/tokenizer.ts';
import { ModelRunner } from '../runtime/model-runner.ts';
import type { ExpertMask } from '../steering/mask.ts';
import { checkMaskFits, modelIdentity, toExpertMask, type MaskFile } from '../steering/mask-file.ts';
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

/**
 * Checks a mask file against the loaded model; warnings go to stderr. Commands read the file (readMaskFile) before
 * opening the model, so a malformed file fails at once rather than after a graph build.
 */
export function fitMask(runner: ModelRunner, file: string, parsed: MaskFile): ExpertMask {
  const { warnings } = checkMaskFits(parsed, modelIdentity(runner.spec, runner.checkpoint.contentHash), file);
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  const mask = toExpertMask(parsed);
  runner.steering(mask, file);
  return mask;
}
