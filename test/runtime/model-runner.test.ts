import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ModelRunner } from '../../engine/runtime/model-runner.ts';
import type { ExpertMask } from '../../engine/steering/mask.ts';
import { writeTinyCheckpoint } from '../helpers/checkpoints.ts';
import { openRunner, testCacheDir } from '../helpers/engine-run.ts';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-runner-'));
writeTinyCheckpoint(work, { family: 'qwen3_moe', seed: 9, config: { num_experts: 8, num_experts_per_tok: 2 } });
after(() => fs.rmSync(work, { recursive: true, force: true }));

describe('model runner', () => {
  it('runs unsteered and steered steps through one session, in any order, with the same results', async () => {
    const mask: ExpertMask = { mode: 'backfill', forceWeight: 'natural', entries: [{ layer: 0, expert: 3, state: 'off' }] };
    const ids = [5, 9, 2];
    const runner = await openRunner(work);
    const fresh = await openRunner(work);
    try {
      const plain1 = await runner.step(runner.emptyCache(), ids, runner.steering(), 1);
      const steered = await runner.step(runner.emptyCache(), ids, runner.steering(mask), 1);
      const plain2 = await runner.step(runner.emptyCache(), ids, runner.steering(), 1);
      assert.deepEqual(plain2.result.logits, plain1.result.logits, 'a steered step leaves no trace');
      assert.deepEqual((await fresh.step(fresh.emptyCache(), ids, fresh.steering(mask), 1)).result.logits, steered.result.logits);
      assert.notDeepEqual(steered.result.logits, plain1.result.logits);
      const selected = steered.result.routing!.selected;
      assert.ok(!selected.subarray(0, 3 * 2).includes(3), 'expert 3 of layer 0 is off');
      assert.ok(plain1.result.routing!.selected.length > 0);
    } finally {
      await runner.dispose();
      await fresh.dispose();
    }
  });

  it('opens at the precision asked for and says so in its identity; auto picks float32 when it fits', async () => {
    const runner = await ModelRunner.open(work, { cacheDir: testCacheDir, threads: 1, precision: 'int8' });
    const auto = await openRunner(work);
    try {
      assert.equal(runner.precision, 'int8');
      assert.equal(runner.identity.precision, 'int8');
      assert.equal(auto.precision, 'f32');
      assert.ok(runner.memory.weights.total < auto.memory.weights.total, 'int8 weights take less memory');
    } finally {
      await runner.dispose();
      await auto.dispose();
    }
  });

  it('runs with the context asked for, at most the model’s', async () => {
    const short = await ModelRunner.open(work, { cacheDir: testCacheDir, threads: 1, context: 8 });
    try {
      assert.equal(short.spec.contextLength, 8);
      await assert.rejects(short.step(short.emptyCache(), Array.from({ length: 9 }, (_, i) => i + 1), short.steering()), /9 tokens exceeds the model's context of 8/);
    } finally {
      await short.dispose();
    }
  });

  it('refuses, before building anything, a precision that does not fit, naming the numbers and what would fit', async () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-guard-'));
    try {
      const f32 = (await ModelRunner.open(work, { cacheDir: testCacheDir, threads: 1, precision: 'f32' }));
      const needed = f32.memory.total;
      await f32.dispose();
      await assert.rejects(
        ModelRunner.open(work, { cacheDir, threads: 1, precision: 'f32', availableMemory: needed - 1 }),
        (err: Error) => /f32 needs [\d.]+ GiB .* available; try precision int8/.test(err.message),
      );
      assert.deepEqual(fs.existsSync(path.join(cacheDir, 'graphs')) ? fs.readdirSync(path.join(cacheDir, 'graphs')) : [], [], 'nothing was built');
      const auto = await ModelRunner.open(work, { cacheDir, threads: 1, availableMemory: needed - 1 });
      assert.equal(auto.precision, 'int8', 'auto takes the widest that fits');
      await auto.dispose();
      await assert.rejects(ModelRunner.open(work, { cacheDir, threads: 1, availableMemory: 1024 }), /does not fit in memory: no precision fits/);
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
