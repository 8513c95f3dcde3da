import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EngineExit, EngineChildHandlers } from '../../app/engine-supervisor.ts';
import { EngineSupervisor } from '../../app/engine-supervisor.ts';
import type { EngineStatus } from '../../app/ipc-channels.ts';
import { RestartPolicy } from '../../app/restart-policy.ts';
import type { ClientMessage, EngineMessage } from '../../engine/protocol/messages.ts';

interface FakeEngine {
  handlers: EngineChildHandlers;
  sent: ClientMessage[];
  killed: boolean;
}

const crash = (code = 1): EngineExit => ({ code, signal: null, stderrTail: ['boom'] });

/** A supervisor over fake engine processes, with a clock and timers the test moves by hand. */
function harness(policy = new RestartPolicy({ stableAfterMs: 10_000, initialDelayMs: 100, maxDelayMs: 1_000, maxCrashesInARow: 3 })) {
  const engines: FakeEngine[] = [];
  const messages: EngineMessage[] = [];
  const statuses: EngineStatus[] = [];
  const gaveUp: { exit: EngineExit; crashes: number }[] = [];
  let time = 0;
  const timers: { fn: () => void; at: number; live: boolean }[] = [];
  const supervisor = new EngineSupervisor(
    {
      spawn: (handlers) => {
        const engine: FakeEngine = { handlers, sent: [], killed: false };
        engines.push(engine);
        return { send: (m) => engine.sent.push(m), kill: () => { engine.killed = true; } };
      },
      policy,
      now: () => time,
      schedule: (fn, ms) => {
        const timer = { fn, at: time + ms, live: true };
        timers.push(timer);
        return () => { timer.live = false; };
      },
    },
    {
      message: (m) => messages.push(m),
      status: (s) => statuses.push(s),
      gaveUp: (exit, crashes) => gaveUp.push({ exit, crashes }),
    },
  );
  const advance = (ms: number) => {
    time += ms;
    for (const timer of timers.filter((t) => t.live && t.at <= time)) {
      timer.live = false;
      timer.fn();
    }
  };
  const latest = () => engines[engines.length - 1]!;
  return { supervisor, engines, messages, statuses, gaveUp, advance, latest };
}

describe('EngineSupervisor', () => {
  it('relays requests under ids of its own and maps replies and events back', () => {
    const h = harness();
    h.supervisor.start();
    h.latest().handlers.spawned();
    assert.deepEqual(h.statuses, ['connected']);
    h.supervisor.send({ id: 41, method: 'model.current', params: {} });
    h.supervisor.send({ cancel: 41 });
    h.supervisor.send({ cancel: 99 });
    assert.deepEqual(h.latest().sent, [{ id: 1, method: 'model.current', params: {} }, { cancel: 1 }]);
    h.latest().handlers.message({ event: 'build.progress', id: 1, data: { done: 1, total: 2 } });
    h.latest().handlers.message({ event: 'probe.finished', data: { runId: 3, status: 'done' } });
    h.latest().handlers.message({ id: 1, ok: true, result: null });
    h.latest().handlers.message({ id: 1, ok: true, result: 'a second answer' });
    h.latest().handlers.message({ id: 7, ok: true, result: 'nobody asked' });
    h.latest().handlers.message({ id: -1, ok: false, error: { code: 'bad-request', message: 'x' } });
    h.latest().handlers.message('not an object');
    assert.deepEqual(h.messages, [
      { event: 'build.progress', id: 41, data: { done: 1, total: 2 } },
      { event: 'probe.finished', data: { runId: 3, status: 'done' } },
      { id: 41, ok: true, result: null },
    ]);
  });

  it('cancels the requests of a page that went away and never mixes them into the next page', () => {
    const h = harness();
    h.supervisor.start();
    h.latest().handlers.spawned();
    h.supervisor.send({ id: 1, method: 'probes.run', params: {} });
    h.supervisor.clientGone();
    h.supervisor.send({ id: 1, method: 'runs.list', params: {} });
    assert.deepEqual(h.latest().sent, [
      { id: 1, method: 'probes.run', params: {} }, { cancel: 1 }, { id: 2, method: 'runs.list', params: {} },
    ]);
    h.latest().handlers.message({ event: 'probe.progress', id: 1, data: { runId: 1, done: 1, total: 9 } });
    h.latest().handlers.message({ id: 1, ok: false, error: { code: 'cancelled', message: 'cancelled' } });
    h.latest().handlers.message({ id: 2, ok: true, result: [] });
    assert.deepEqual(h.messages, [{ id: 1, ok: true, result: [] }]);
  });

  it('answers requests in flight when the engine dies, then restarts it after the backoff', () => {
    const h = harness();
    h.supervisor.start();
    h.latest().handlers.spawned();
    h.supervisor.send({ id: 1, method: 'generate', params: {} });
    h.supervisor.send({ id: 2, method: 'runs.list', params: {} });
    h.latest().handlers.message({ id: 2, ok: true, result: [] });
    h.latest().handlers.exited({ code: null, signal: 'SIGSEGV', stderrTail: [] });
    assert.deepEqual(h.messages, [
      { id: 2, ok: true, result: [] },
      { id: 1, ok: false, error: { code: 'failed', message: 'the engine process stopped (signal SIGSEGV) before answering' } },
    ]);
    assert.deepEqual(h.statuses, ['connected', 'restarting'], 'straight to restarting: never a passing "not restarted"');

    h.supervisor.send({ id: 3, method: 'runs.list', params: {} });
    h.supervisor.send({ cancel: 1 });
    assert.deepEqual(h.messages.at(-1), { id: 3, ok: false, error: { code: 'failed', message: 'the engine is not running; it is being restarted' } });
    assert.equal(h.messages.length, 3, 'a cancel while down is dropped');

    h.advance(99);
    assert.equal(h.engines.length, 1);
    h.advance(1);
    assert.equal(h.engines.length, 2);
    h.latest().handlers.spawned();
    assert.deepEqual(h.statuses, ['connected', 'restarting', 'connected']);
  });

  it('backs off over quick crashes, gives up, and starts again on retry', () => {
    const h = harness();
    h.supervisor.start();
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      h.latest().handlers.spawned();
      h.advance(50);
      const before = h.engines.length;
      h.latest().handlers.exited(crash(i));
      let waited = 0;
      while (h.engines.length === before && waited < 5_000) {
        h.advance(10);
        waited += 10;
      }
      if (h.engines.length > before) delays.push(waited);
    }
    assert.deepEqual(delays, [100, 200]);
    assert.deepEqual(h.gaveUp, [{ exit: crash(2), crashes: 3 }]);
    assert.equal(h.supervisor.currentStatus, 'disconnected');

    assert.equal(h.engines.length, 3);
    h.supervisor.retry();
    assert.equal(h.engines.length, 4);
    h.latest().handlers.spawned();
    assert.equal(h.supervisor.currentStatus, 'connected');
    h.latest().handlers.exited(crash());
    h.advance(100);
    assert.equal(h.engines.length, 5, 'retry forgot the earlier crashes');
  });

  it('restarts quickly again after a stable run', () => {
    const h = harness();
    h.supervisor.start();
    h.latest().handlers.spawned();
    h.latest().handlers.exited(crash());
    h.advance(100);
    h.latest().handlers.spawned();
    h.advance(10_000);
    h.latest().handlers.exited(crash());
    h.advance(100);
    assert.equal(h.engines.length, 3);
  });

  it('counts a process that never started as a crash', () => {
    const h = harness();
    h.supervisor.start();
    h.latest().handlers.exited({ code: -2, signal: null, startError: 'spawn node ENOENT', stderrTail: [] });
    // It was never 'connected', so the first change is to 'restarting'.
    assert.deepEqual(h.statuses, ['restarting']);
    h.advance(100);
    assert.equal(h.engines.length, 2);
  });

  it("keeps main's own requests apart from the renderer's", async () => {
    const h = harness();
    h.supervisor.start();
    h.latest().handlers.spawned();
    const events: unknown[] = [];
    const opened = h.supervisor.request('model.open', { dir: '/m' }, (event, data) => events.push({ event, data }));
    h.supervisor.send({ id: 1, method: 'model.current', params: {} });
    assert.deepEqual(h.latest().sent, [{ id: 1, method: 'model.open', params: { dir: '/m' } }, { id: 2, method: 'model.current', params: {} }]);
    h.latest().handlers.message({ event: 'build.progress', id: 1, data: { done: 1, total: 4 } });
    h.latest().handlers.message({ id: 1, ok: true, result: { folder: '/m' } });
    assert.deepEqual(await opened, { folder: '/m' });
    assert.deepEqual(events, [{ event: 'build.progress', data: { done: 1, total: 4 } }]);
    assert.deepEqual(h.messages, [], "main's answer is not the renderer's request 1");
    h.latest().handlers.message({ id: 2, ok: true, result: null });
    assert.deepEqual(h.messages, [{ id: 1, ok: true, result: null }]);

    const failing = h.supervisor.request('model.open', { dir: '/bad' });
    const id = (h.latest().sent[2] as { id: number }).id;
    h.latest().handlers.message({ id, ok: false, error: { code: 'failed', message: '/bad/config.json: not found' } });
    await assert.rejects(failing, { message: 'model.open: /bad/config.json: not found' });

    const lost = h.supervisor.request('model.open', { dir: '/m' });
    h.latest().handlers.exited(crash(9));
    await assert.rejects(lost, { message: 'model.open: the engine process stopped (exit code 9) before answering' });
    await assert.rejects(h.supervisor.request('model.current', {}), { message: 'model.current: the engine is not running' });
  });

  it('ignores a replaced process and stays quiet once stopped', () => {
    const h = harness();
    h.supervisor.start();
    const first = h.latest();
    first.handlers.spawned();
    first.handlers.exited(crash());
    h.advance(100);
    first.handlers.exited(crash());
    first.handlers.message({ id: 5, ok: true, result: null });
    assert.equal(h.engines.length, 2);
    assert.deepEqual(h.messages, []);

    h.latest().handlers.spawned();
    const statuses = h.statuses.length;
    h.supervisor.stop();
    assert.equal(h.latest().killed, true);
    h.latest().handlers.exited({ code: null, signal: 'SIGTERM', stderrTail: [] });
    h.advance(10_000);
    assert.equal(h.engines.length, 2);
    assert.equal(h.statuses.length, statuses);
    assert.deepEqual(h.gaveUp, []);
  });
});
