import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { EngineMessage } from '../../engine/protocol/messages.ts';
import { testCacheDir } from '../helpers/engine-run.ts';
import { sharedFolder } from '../helpers/golden.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const GOLDEN = sharedFolder('golden', 'qwen2_moe-f32');

describe('engine process', () => {
  it('answers over the IPC channel of child_process.fork and exits when the parent disconnects', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-engine-process-'));
    const child = fork(path.join(ROOT, 'engine/host/engine-process.ts'), ['--db', path.join(work, 'mote.db'), '--probes', work], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, MOTE_DEMO_MODEL: GOLDEN, MOTE_CACHE_DIR: testCacheDir },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const messages: EngineMessage[] = [];
    const replies = (n: number) => new Promise<void>((resolve) => {
      const check = () => {
        if (messages.filter((m) => !('event' in m)).length >= n) resolve();
        else setTimeout(check, 5);
      };
      check();
    });
    child.on('message', (m) => messages.push(m as EngineMessage));
    child.send({ id: 1, method: 'model.open', params: {} });
    child.send({ id: 2, method: 'generate', params: { prompt: 't5', chat: false, mask: { mode: 'backfill', forceWeight: 'natural', entries: [] }, maxTokens: 3, seed: 0, temperature: 0, topK: 0, topP: 1 } });
    child.send('not a message');
    await replies(3);
    const byId = (id: number) => messages.find((m) => !('event' in m) && m.id === id) as { ok: boolean; result?: unknown; error?: { code: string } };
    assert.equal(byId(-1).error?.code, 'bad-request');
    assert.equal(byId(1).ok, true, stderr);
    assert.equal((byId(1).result as { demo: boolean }).demo, true);
    assert.equal((byId(2).result as { ids: number[] }).ids.length, 3);
    assert.equal(messages.filter((m) => 'event' in m && m.event === 'generate.token').length, 3);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.disconnect();
    assert.equal(await exited, 0);
    assert.match(stderr, /mote engine: ready/);
  });
});
