/**
 * Child process of crash.test.ts: records the run's prompts (resuming past those already stored) and prints each
 * index once its transaction has committed, until it is killed. Arguments: database file, run id, seed.
 */
import { openDatabase } from '../../engine/store/database.ts';
import { finishedPromptIndices, getRun, recordPrompt } from '../../engine/store/runs.ts';
import { randomPrompt } from './helpers.ts';

const [file, runIdArg, seedArg] = process.argv.slice(2);
const runId = Number(runIdArg);
const db = openDatabase(file);
const run = getRun(db, runId)!;
const done = finishedPromptIndices(db, runId);
for (let idx = 0; idx < run.promptCount; idx++) {
  if (done.has(idx)) continue;
  const prompt = randomPrompt(Number(seedArg), idx, run.moeLayers.length, run.topK, run.numExperts, run.recordLogits);
  recordPrompt(db, runId, prompt, run.moeLayers, run.topK);
  process.stdout.write(`${idx}\n`);
}
