import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import vm from 'node:vm';
import type { MoteEngineApi } from '../../app/preload.ts';
import { CHANNELS } from '../../app/ipc-channels.ts';
import { bundleApp } from '../../scripts/bundle.mjs';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** dist/app/preload.cjs against a fake ipcRenderer and contextBridge. */
describe('the bundled preload', () => {
  fs.mkdirSync(path.join(ROOT, 'dist'), { recursive: true }); // absent in a fresh clone
  const dir = fs.mkdtempSync(path.join(ROOT, 'dist', 'test-preload-'));
  const ipc = new EventEmitter();
  const sent: unknown[][] = [];
  const invoked: unknown[][] = [];
  let answerStatus: (status: string) => void = () => {};
  const exposed = new Map<string, unknown>();
  let api: MoteEngineApi;
  const push = (channel: string, payload: unknown) => ipc.emit(channel, { sender: 'main' }, payload);
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  before(async () => {
    await bundleApp(path.relative(ROOT, dir));
    const file = path.join(dir, 'preload.cjs');
    const ipcRenderer = {
      on: (channel: string, listener: (...args: unknown[]) => void) => ipc.on(channel, listener),
      removeListener: (channel: string, listener: (...args: unknown[]) => void) => ipc.removeListener(channel, listener),
      send: (...args: unknown[]) => void sent.push(args),
      invoke: (...args: unknown[]) => {
        invoked.push(args);
        if (args[0] === CHANNELS.currentStatus) return new Promise((resolve) => { answerStatus = resolve; });
        return Promise.resolve(`answer to ${String(args[0])}`);
      },
    };
    const electron = { ipcRenderer, contextBridge: { exposeInMainWorld: (key: string, value: unknown) => exposed.set(key, value) } };
    const wrapped = vm.runInThisContext(Module.wrap(fs.readFileSync(file, 'utf8')), { filename: file });
    const module = { exports: {} };
    wrapped(module.exports, (id: string) => {
      if (id !== 'electron') throw new Error(`a sandboxed preload cannot require ${id}`);
      return electron;
    }, module, file, dir);
    api = exposed.get('moteEngine') as MoteEngineApi;
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('exposes exactly window.moteEngine with the five functions', () => {
    assert.deepEqual([...exposed.keys()], ['moteEngine']);
    assert.deepEqual(Object.keys(api).sort(), ['onMessage', 'onStatus', 'openFolder', 'saveFile', 'send']);
  });

  it('passes messages through unchanged and unsubscribes', () => {
    api.send({ id: 1, method: 'model.current', params: {} });
    assert.deepEqual(sent, [[CHANNELS.send, { id: 1, method: 'model.current', params: {} }]]);
    const got: unknown[] = [];
    const off = api.onMessage((m) => got.push(m));
    push(CHANNELS.message, { id: 1, ok: true, result: null });
    off();
    push(CHANNELS.message, { id: 2, ok: true, result: null });
    assert.deepEqual(got, [{ id: 1, ok: true, result: null }]);
    assert.equal(ipc.listenerCount(CHANNELS.message), 0);
  });

  it('gives each status subscriber the current status first, then every change', async () => {
    const early: string[] = [];
    const offEarly = api.onStatus((s) => early.push(s));
    await tick();
    assert.deepEqual(early, [], 'nothing known yet');
    answerStatus('connected');
    await tick();
    assert.deepEqual(early, ['connected']);

    const late: string[] = [];
    const offLate = api.onStatus((s) => late.push(s));
    await tick();
    push(CHANNELS.status, 'restarting');
    offEarly();
    push(CHANNELS.status, 'connected');
    offLate();
    push(CHANNELS.status, 'disconnected');
    assert.deepEqual(early, ['connected', 'restarting']);
    assert.deepEqual(late, ['connected', 'restarting', 'connected']);
  });

  it('invokes the file dialogs in main', async () => {
    assert.equal(await api.saveFile?.('mask.json', '{}'), `answer to ${CHANNELS.saveFile}`);
    assert.equal(await api.openFolder?.(), `answer to ${CHANNELS.openFolder}`);
    assert.deepEqual(invoked.slice(1), [[CHANNELS.saveFile, 'mask.json', '{}'], [CHANNELS.openFolder]]);
  });
});
