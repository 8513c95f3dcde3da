import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { engineLayout, forkEngine, type EngineLayout } from '../../app/engine-launch.ts';
import { EngineSupervisor, type EngineExit } from '../../app/engine-supervisor.ts';
import type { EngineStatus } from '../../app/ipc-channels.ts';
import { RestartPolicy } from '../../app/restart-policy.ts';
import type { EngineMessage } from '../../engine/protocol/messages.ts';
import { bundleEngine } from '../../scripts/bundle.mjs';

const ROOT = path.resolve(import.meta.dirname, '../..');
const FAKE_ENGINE = path.join(import.meta.dirname, 'fixtures', 'fake-engine.cjs');

describe('engineLayout', () => {
  it('uses the checkout and the given Node in development', () => {
    assert.deepEqual(engineLayout({
      packaged: false, appRoot: '/src/mote', resourcesPath: '/opt/electron/resources', userData: '/home/u/.config/mote',
      platform: 'linux', devNode: '/usr/bin/node',
    }), {
      nodePath: '/usr/bin/node',
      script: '/src/mote/dist/engine/engine-process.cjs',
      env: {
        MOTE_DEMO_MODEL: '/src/mote/models/demo',
        MOTE_PROBES_DIR: '/src/mote/probes',
        MOTE_DB: '/home/u/.config/mote/mote.db',
        MOTE_CACHE_DIR: '/home/u/.config/mote/cache',
      },
    });
    assert.equal(engineLayout({ packaged: false, appRoot: '/a', resourcesPath: '/r', userData: '/u', platform: 'linux' }).nodePath, 'node');
  });

  it('uses the bundled Node and the unpacked engine when packaged', () => {
    const mac = engineLayout({
      packaged: true, appRoot: '/Applications/MoTE Studio.app/Contents/Resources/app.asar',
      resourcesPath: '/Applications/MoTE Studio.app/Contents/Resources', userData: '/Users/u/Library/Application Support/MoTE Studio',
      platform: 'darwin',
    });
    assert.equal(mac.nodePath, '/Applications/MoTE Studio.app/Contents/Resources/node/node');
    assert.equal(mac.script, '/Applications/MoTE Studio.app/Contents/Resources/app.asar.unpacked/dist/engine/engine-process.cjs');
    assert.equal(mac.env.MOTE_DEMO_MODEL, '/Applications/MoTE Studio.app/Contents/Resources/models/demo');
    assert.equal(mac.env.MOTE_PROBES_DIR, '/Applications/MoTE Studio.app/Contents/Resources/probes');

    const win = engineLayout({
      packaged: true, appRoot: 'C:\\Program Files\\MoTE Studio\\resources\\app.asar', resourcesPath: 'C:\\Program Files\\MoTE Studio\\resources',
      userData: 'C:\\Users\\u\\AppData\\Roaming\\MoTE Studio', platform: 'win32',
    });
    assert.equal(win.nodePath, 'C:\\Program Files\\MoTE Studio\\resources\\node\\node.exe');
    assert.equal(win.script, 'C:\\Program Files\\MoTE Studio\\resources\\app.asar.unpacked\\dist\\engine\\engine-process.cjs');
    assert.equal(win.env.MOTE_DB, 'C:\\Users\\u\\AppData\\Roaming\\MoTE Studio\\mote.db');
  });
});

function resultOf(message: EngineMessage | undefined): unknown {
  assert.ok(message !== undefined && 'ok' in message && message.ok, JSON.stringify(message));
  return message.result;
}

/** A supervisor over real processes started by forkEngine; resolves waits on status changes and messages. */
function supervise(layout: EngineLayout) {
  const messages: EngineMessage[] = [];
  const statuses: EngineStatus[] = [];
  const exits: EngineExit[] = [];
  const logged: string[] = [];
  let wake = () => {};
  const supervisor = new EngineSupervisor(
    {
      spawn: (handlers) => forkEngine(layout, { ...handlers, exited: (exit) => { exits.push(exit); handlers.exited(exit); } }, (line) => logged.push(line)),
      policy: new RestartPolicy({ stableAfterMs: 60_000, initialDelayMs: 10, maxDelayMs: 10, maxCrashesInARow: 3 }),
    },
    {
      message: (m) => { messages.push(m); wake(); },
      status: (s) => { statuses.push(s); wake(); },
      gaveUp: () => wake(),
    },
  );
  const until = async (done: () => boolean, what: string) => {
    const deadline = Date.now() + 60_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  };
  return { supervisor, messages, statuses, exits, logged, until };
}

describe('forkEngine', () => {
  const layout: EngineLayout = { nodePath: process.execPath, script: FAKE_ENGINE, env: { MOTE_DB: '/tmp/x.db', MOTE_PROBES_DIR: '/p' } };

  it('passes the environment, relays messages and restarts a crashed process', async () => {
    const s = supervise(layout);
    s.supervisor.start();
    s.supervisor.send({ id: 1, method: 'model.current', params: {} });
    await s.until(() => s.messages.length === 1, 'the first reply');
    const reply = resultOf(s.messages[0]) as { env: Record<string, string>; execArgv: string[] };
    assert.equal(reply.env.MOTE_DB, '/tmp/x.db');
    assert.equal(reply.env.MOTE_PROBES_DIR, '/p');
    assert.deepEqual(reply.execArgv, ['--enable-source-maps']);

    s.supervisor.send({ id: 2, method: 'crash', params: {} } as never);
    await s.until(() => s.statuses.filter((x) => x === 'connected').length === 2, 'the restart');
    assert.deepEqual(s.statuses, ['connected', 'restarting', 'connected'], 'a crash is reported as the restart that follows it, not as a disconnect');
    assert.deepEqual(s.messages[1], { id: 2, ok: false, error: { code: 'failed', message: 'the engine process stopped (exit code 3) before answering' } });
    assert.deepEqual(s.exits[0]?.stderrTail, ['fake engine: crashing on request']);
    assert.ok(s.logged.includes('fake engine: ready'));

    s.supervisor.send({ id: 3, method: 'model.current', params: {} });
    await s.until(() => s.messages.length === 3, 'a reply from the new process');
    s.supervisor.stop();
    await s.until(() => s.exits.length === 2, 'the stopped process to exit');
    assert.equal(s.exits[1]?.signal, 'SIGTERM');
  });

  it('reports a Node binary that does not exist as a process that never started', async () => {
    const s = supervise({ ...layout, nodePath: path.join(ROOT, 'no-such-node') });
    s.supervisor.start();
    await s.until(() => s.exits.length === 3, 'three failed starts');
    s.supervisor.stop();
    assert.match(s.exits[0]?.startError ?? '', /ENOENT/);
    assert.equal(s.supervisor.currentStatus, 'disconnected');
    assert.ok(!s.statuses.includes('connected'));
  });
});

describe('the bundled engine (dist/engine/engine-process.cjs)', () => {
  it('starts on plain Node and answers over the IPC channel', async () => {
    fs.mkdirSync(path.join(ROOT, 'dist'), { recursive: true }); // absent in a fresh clone
    const dir = fs.mkdtempSync(path.join(ROOT, 'dist', 'test-engine-'));
    try {
      await bundleEngine(path.relative(ROOT, path.join(dir, 'engine-process.cjs')));
      const data = fs.mkdtempSync(path.join(dir, 'data-'));
      const s = supervise({
        nodePath: process.execPath,
        script: path.join(dir, 'engine-process.cjs'),
        env: { MOTE_DEMO_MODEL: path.join(ROOT, 'models', 'demo'), MOTE_PROBES_DIR: path.join(ROOT, 'probes'), MOTE_DB: path.join(data, 'mote.db'), MOTE_CACHE_DIR: path.join(data, 'cache') },
      });
      s.supervisor.start();
      s.supervisor.send({ id: 1, method: 'model.current', params: {} });
      s.supervisor.send({ id: 2, method: 'probes.list', params: {} });
      await s.until(() => s.messages.length === 2, 'two replies');
      assert.deepEqual(s.messages[0], { id: 1, ok: true, result: null });
      const sets = resultOf(s.messages[1]) as { file: string }[];
      assert.ok(sets.some((set) => set.file.startsWith(path.join(ROOT, 'probes'))));
      s.supervisor.stop();
      await s.until(() => s.exits.length === 1, 'the engine to exit');
      assert.ok(s.logged.some((line) => line.includes('ready')), s.logged.join('\n'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
