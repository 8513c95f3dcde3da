import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { openDatabase } from '../../engine/store/database.ts';
import { createRun, finishedPromptIndices, getPromptRouting } from '../../engine/store/runs.ts';
import { assertCountsMatchBlobs, newRun, randomPrompt, tempDir } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
const SEED = 11;
/** Many layers and experts, so most of the writer's time is spent inside recordPrompt's transaction. */
const SHAPE = { moeLayers: [...Array(24).keys()], numExperts: 128, topK: 8 };

/** Starts the writer, SIGKILLs it a few milliseconds after it has committed `prompts` prompts; resolves to those. */
function writeUntilKilled(file: string, runId: number, prompts: number, delayMs: number): Promise<number[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, file, String(runId), String(SEED)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const committed: number[] = [];
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop()!;
    const before = committed.length;
    committed.push(...lines.map(Number));
    if (before < prompts && committed.length >= prompts) setTimeout(() => child.kill('SIGKILL'), delayMs);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(committed);
      else reject(new Error(`the writer exited with code ${code} before it was killed`));
    });
  });
}

describe('a writer killed mid-run', () => {
  it('leaves a consistent database that a resumed run completes without double counting', async () => {
    const file = path.join(tempDir(), 'crash.sqlite');
    const setup = openDatabase(file);
    const runId = createRun(setup, { ...newRun(SHAPE, 100_000), recordLogits: true });
    setup.close();

    let stored = 0;
    for (const [prompts, delayMs] of [[3, 0], [10, 3], [20, 7]]) {
      const committed = await writeUntilKilled(file, runId, prompts, delayMs);
      const db = openDatabase(file);
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      const finished = finishedPromptIndices(db, runId);
      for (const idx of committed) assert.ok(finished.has(idx), `committed prompt ${idx} is missing`);
      assert.ok(finished.size > stored);
      stored = finished.size;
      for (const idx of finished) {
        const expected = randomPrompt(SEED, idx, SHAPE.moeLayers.length, SHAPE.topK, SHAPE.numExperts, true);
        assert.deepEqual(getPromptRouting(db, runId, idx)!.selected, expected.selected, `prompt ${idx}`);
      }
      assertCountsMatchBlobs(db, runId);
      db.close();
    }
  });
});
