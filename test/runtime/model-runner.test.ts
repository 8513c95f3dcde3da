import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { ExpertMask } from '../../engine/steering/mask.ts';
import { writeTinyCheckpoint } from '../helpers/checkpoints.ts';
import { openRunner } from '../helpers/engine-run.ts';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-runner-'));
writeTinyCheckpoint(work, { family: 'qwen3_moe', seed: 9, config: { num_experts: 8, num_experts_per_tok: 2 } });
after(() => fs.rmSync(work, { recursive: true, force: true }));

describe('model runner sessions', () => {
  it('loads the steered graph at the first step under a mask, or up front with prepareSteering', async () => {
    const mask: ExpertMask = { mode: 'backfill', forceWeight: 'natural', entries: [{ layer: 0, expert: 3, state: 'off' }] };
    const ids = [5, 9, 2];
    const lazy = await openRunner(work);
    const eager = await openRunner(work);
    try {
      await lazy.step(lazy.emptyCache(), ids, lazy.steering(), 1);
      assert.equal(lazy.steeringPrepared, false, 'an unsteered step does not load it');
      const lazyOut = await lazy.step(lazy.emptyCache(), ids, lazy.steering(mask), 1);
      assert.equal(lazy.steeringPrepared, true);

      assert.equal(eager.steeringPrepared, false);
      await eager.prepareSteering();
      assert.equal(eager.steeringPrepared, true);
      const eagerOut = await eager.step(eager.emptyCache(), ids, eager.steering(mask), 1);
      assert.deepEqual(eagerOut.result.logits, lazyOut.result.logits);
      assert.ok(!eagerOut.result.routing!.selected.some((e, i) => e === 3 && i < 3 * 2), 'expert 3 of layer 0 is off');
    } finally {
      await lazy.dispose();
      await eager.dispose();
    }
  });
});
