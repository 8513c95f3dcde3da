import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestartPolicy } from '../../app/restart-policy.ts';

const options = { stableAfterMs: 30_000, initialDelayMs: 500, maxDelayMs: 3_000, maxCrashesInARow: 6 };

describe('RestartPolicy', () => {
  it('doubles the delay per quick crash up to the cap, then gives up', () => {
    const policy = new RestartPolicy(options);
    const decisions = Array.from({ length: 6 }, () => policy.onCrash(1_000));
    assert.deepEqual(decisions, [
      { action: 'restart', delayMs: 500 },
      { action: 'restart', delayMs: 1_000 },
      { action: 'restart', delayMs: 2_000 },
      { action: 'restart', delayMs: 3_000 },
      { action: 'restart', delayMs: 3_000 },
      { action: 'give-up', crashesInARow: 6 },
    ]);
  });

  it('starts counting again after a stable run', () => {
    const policy = new RestartPolicy(options);
    policy.onCrash(0);
    policy.onCrash(0);
    assert.deepEqual(policy.onCrash(30_000), { action: 'restart', delayMs: 500 });
    assert.deepEqual(policy.onCrash(10), { action: 'restart', delayMs: 1_000 });
  });

  it('forgets the crashes on reset', () => {
    const policy = new RestartPolicy({ ...options, maxCrashesInARow: 2 });
    policy.onCrash(0);
    assert.equal(policy.onCrash(0).action, 'give-up');
    policy.reset();
    assert.deepEqual(policy.onCrash(0), { action: 'restart', delayMs: 500 });
  });
});
