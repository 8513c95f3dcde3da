import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { evaluateMask } from '../../engine/analysis/evaluate.ts';
import { loadTokenizer, type TextTokenizer } from '../../engine/model/tokenizer.ts';
import type { ProbeSet } from '../../engine/probes/probe-set.ts';
import { runProbes } from '../../engine/probes/run-probes.ts';
import type { ModelRunner } from '../../engine/runtime/model-runner.ts';
import { openDatabase, type WritableDB } from '../../engine/store/database.ts';
import { listRuns } from '../../engine/store/runs.ts';
import { writeTinyCheckpoint } from '../helpers/checkpoints.ts';
import { openRunner } from '../helpers/engine-run.ts';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-too-long-'));
const modelDir = path.join(work, 'model');
const { config } = writeTinyCheckpoint(modelDir, { family: 'olmoe', seed: 2, tokenizer: true });
const context = config.max_position_embeddings as number;
const words = (n: number) => Array.from({ length: n }, (_, i) => `t${2 + (i % 40)}`).join(' ');

/** Prompts 2 and 3 fit the context, but not with class a's forced response; prompts 4 and 5 do not fit at all. */
const SET: ProbeSet = {
  id: 'long', title: 'too long', type: 'paired', chat: false,
  classes: [{ id: 'a' }, { id: 'b' }],
  items: [
    { prompt: 't2 t3', responses: { a: 't4', b: 't5' } },
    { prompt: words(context - 4), responses: { a: words(8), b: 't5' } },
    { prompt: words(context + 10), responses: { a: 't4', b: 't5' } },
  ],
};
const setFile = path.join(work, 'long.json');

describe('prompts longer than the context', () => {
  let runner: ModelRunner;
  let tokenizer: TextTokenizer;
  let db: WritableDB;
  before(async () => {
    runner = await openRunner(modelDir);
    tokenizer = await loadTokenizer(modelDir, runner.checkpoint.config);
    db = openDatabase(path.join(work, 'runs.db'));
  });
  after(async () => {
    db.close();
    await runner.dispose();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('a probe run refuses the set before running anything, naming the file, the prompts and their lengths', async () => {
    await assert.rejects(runProbes(db, runner, tokenizer, { set: SET, setPath: setFile, generateTokens: 0 }), (err: Error) => {
      assert.ok(err.message.startsWith(`${setFile}: 3 of 6 prompts are longer than the model's context of ${context} tokens: `), err.message);
      assert.match(err.message, /: prompt 2 \(class a, \d+ tokens with its forced response\): "t2 t3 t4 [^"]*…"; prompt 4 \(class a, \d+ tokens with its forced response\): "[^"]*"; prompt 5 \(class b, \d+ tokens with its forced response\)/);
      return true;
    });
    assert.deepEqual(listRuns(db), [], 'no run was created');
  });

  it('an evaluation refuses it too', async () => {
    const set: ProbeSet = {
      id: 'long-templates', title: 'too long', type: 'templates', chat: false, classes: [{ id: 'a' }],
      templates: [{ text: '{x}' }], slots: { x: ['t2 t3', words(context + 1)] },
      classifier: { rules: [{ label: 'a', phrases: ['t7'] }], otherwise: 'b' },
    };
    await assert.rejects(evaluateMask(runner, tokenizer, {
      set, setPath: setFile, mask: { mode: 'backfill', forceWeight: 'natural', entries: [{ layer: 0, expert: 1, state: 'off' }] },
      randomControls: 0, dose: 0, maxTokens: 2,
    }), new RegExp(`: 1 of 2 prompts are longer than the model's context of ${context} tokens: prompt 1 \\(class a, ${context + 1} tokens\\)`));
  });
});
