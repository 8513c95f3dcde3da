import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientMessage } from '../../../engine/protocol/messages.ts';
import { EngineError } from '../../../renderer/host/engine-client.ts';
import { RpcChannel } from '../../../renderer/host/rpc-channel.ts';

/** Settles within a turn of the event loop, or reports that it is still pending. */
const settled = <T>(p: Promise<T>) => Promise.race([p.then((v) => ({ value: v }), (e: unknown) => ({ error: e })), new Promise((r) => setTimeout(() => r('pending'), 20))]);

describe('RpcChannel when the engine goes away', () => {
  it('queues requests made before the first connection and sends them when it opens', async () => {
    const sent: ClientMessage[] = [];
    const rpc = new RpcChannel((m) => sent.push(m));
    const call = rpc.call('runs.list', {});
    assert.equal(await settled(call.result), 'pending');
    rpc.setOpen(true);
    assert.deepEqual(sent, [{ id: 1, method: 'runs.list', params: {} }]);
    rpc.receive({ id: 1, ok: true, result: [] });
    assert.deepEqual(await call.result, []);
  });

  it('rejects requests in flight when the connection drops, and new ones at once while it is down', async () => {
    const sent: ClientMessage[] = [];
    const rpc = new RpcChannel((m) => sent.push(m));
    rpc.setOpen(true);
    const inFlight = rpc.call('generate', { prompt: 'x' } as never);
    rpc.setOpen(false);
    const lost = await settled(inFlight.result);
    assert.ok(typeof lost === 'object' && lost !== null && 'error' in lost && lost.error instanceof EngineError);
    assert.equal((lost.error as EngineError).code, 'disconnected');
    assert.equal((lost.error as EngineError).message, 'generate: the engine stopped before answering');

    const whileDown = await settled(rpc.call('generate', { prompt: 'y' } as never).result);
    assert.notEqual(whileDown, 'pending', 'a request while disconnected must not hang');
    assert.equal(((whileDown as { error: EngineError }).error).message, 'generate: not connected to the engine; nothing was sent');
    assert.equal(sent.length, 1, 'nothing is sent while down, nor queued for later');

    rpc.setOpen(true);
    assert.equal(sent.length, 1, 'the refused request does not go out on reconnect');
    const again = rpc.call('runs.list', {});
    assert.deepEqual(sent.at(-1), { id: 3, method: 'runs.list', params: {} });
    rpc.receive({ id: 3, ok: true, result: [] });
    assert.deepEqual(await again.result, []);
  });
});
