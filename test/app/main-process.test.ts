import assert from 'node:assert/strict';
import fs from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import vm from 'node:vm';
import { CHANNELS } from '../../app/ipc-channels.ts';
import { CONTENT_SECURITY_POLICY } from '../../app/renderer-files.ts';
import { bundleApp, bundleEngine } from '../../scripts/bundle.mjs';
import { fakeElectron, type FakeWebContents, type IpcEvent } from './fake-electron.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function lastSent(contents: FakeWebContents, channel: string, match: (payload: unknown) => boolean = () => true) {
  return contents.sent.filter((s) => s.channel === channel && match(s.payload)).at(-1)?.payload;
}

/** dist/app/main.cjs (bundled into a scratch app folder), run under plain Node against a fake Electron. */
describe('the bundled main process, against a fake Electron', () => {
  fs.mkdirSync(path.join(ROOT, 'dist'), { recursive: true }); // absent in a fresh clone
  const appRoot = fs.mkdtempSync(path.join(ROOT, 'dist', 'test-main-'));
  const userData = path.join(appRoot, 'user-data');
  const fake = fakeElectron(appRoot, userData);
  const output: string[] = [];
  const saved = { log: console.log, error: console.error, warn: console.warn };
  let contents: FakeWebContents;
  const trusted = (): IpcEvent => ({ sender: contents, senderFrame: { url: 'app://mote/index.html' } });

  before(async () => {
    const rel = (file: string) => path.relative(ROOT, path.join(appRoot, file));
    await bundleApp(rel('dist/app'));
    await bundleEngine(rel('dist/engine/engine-process.cjs'));
    fs.mkdirSync(path.join(appRoot, 'dist', 'renderer'));
    fs.writeFileSync(path.join(appRoot, 'dist', 'renderer', 'index.html'), '<!doctype html><title>t</title>');
    for (const name of ['log', 'error', 'warn'] as const) console[name] = (...args: unknown[]) => void output.push(args.join(' '));

    const mainFile = path.join(appRoot, 'dist', 'app', 'main.cjs');
    const realRequire = createRequire(mainFile);
    const wrapped = vm.runInThisContext(Module.wrap(fs.readFileSync(mainFile, 'utf8')), { filename: mainFile });
    const module = { exports: {} };
    wrapped(module.exports, (id: string) => (id === 'electron' ? fake.electron : realRequire(id)), module, mainFile, path.dirname(mainFile));
    assert.deepEqual(fake.log.slice(0, 2), [
      'registerSchemesAsPrivileged before ready: [{"scheme":"app","privileges":{"standard":true,"secure":true,"supportFetchAPI":true,"codeCache":true}}]',
      'enableSandbox',
    ]);
    fake.markReady();
    contents = (await until('the window', () => fake.windows[0])).webContents;
  });

  after(async () => {
    fake.appEvents.emit('will-quit');
    const pid = Number(/ready \(pid (\d+)/.exec(output.join('\n'))?.[1]);
    await until('the engine to exit', () => {
      try {
        process.kill(pid, 0);
        return undefined;
      } catch {
        return true;
      }
    });
    Object.assign(console, saved);
    fs.rmSync(appRoot, { recursive: true, force: true });
  });

  it('opens one sandboxed, isolated window on app://mote with the bundled preload', () => {
    const [window] = fake.windows;
    assert.equal(fake.windows.length, 1);
    assert.equal(window!.url, 'app://mote/index.html');
    const prefs = window!.options.webPreferences;
    assert.deepEqual(
      { contextIsolation: prefs.contextIsolation, sandbox: prefs.sandbox, nodeIntegration: prefs.nodeIntegration, webSecurity: prefs.webSecurity },
      { contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true },
    );
    assert.equal(prefs.preload, path.join(appRoot, 'dist', 'app', 'preload.cjs'));
    assert.ok(fs.existsSync(prefs.preload as string));
    assert.equal(window!.options.icon, path.join(appRoot, 'dist', 'renderer', 'icon.png'), 'the app icon, built into dist/renderer from renderer/public');
    assert.match(fake.log.find((l) => l.startsWith('menu')) ?? '', /Open Model Folder….*"quit".*"reload".*"toggleDevTools".*About MoTE Studio/);
  });

  it('blocks navigation, new windows, remote requests and permissions except the clipboard write', () => {
    let prevented = false;
    contents.emit('will-navigate', { preventDefault: () => { prevented = true; } });
    assert.ok(prevented);
    assert.deepEqual(contents.openHandler?.(), { action: 'deny' });
    assert.ok(fake.permissions.blocked?.urls.includes('https://*/*'));
    const granted: boolean[] = [];
    const ask = (permission: string, url: string) => fake.permissions.request?.(contents, permission, (g) => granted.push(g), { requestingUrl: url });
    ask('media', 'app://mote/index.html');
    ask('clipboard-sanitized-write', 'app://mote/index.html');
    ask('clipboard-sanitized-write', 'https://example.com/');
    assert.deepEqual(granted, [false, true, false]);
    assert.equal(fake.permissions.check?.(contents, 'clipboard-read', 'app://mote'), false);
  });

  it('serves the renderer with the CSP and nothing outside it', async () => {
    const handle = fake.protocolHandlers.get('app')!;
    const page = await handle(new Request('app://mote/index.html'));
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(await page.text(), /<title>t<\/title>/);
    assert.equal((await handle(new Request('app://mote/%2e%2e%2f%2e%2e%2fpackage.json'))).status, 404);
    assert.equal((await handle(new Request('app://mote/missing.js'))).status, 404);
  });

  it('starts the engine, reports it connected and relays requests from the trusted renderer only', async () => {
    await until('connected', () => lastSent(contents, CHANNELS.status, (s) => s === 'connected'));
    assert.equal(await fake.ipcHandlers.get(CHANNELS.currentStatus)!(trusted()), 'connected');
    assert.equal(await fake.ipcHandlers.get(CHANNELS.currentStatus)!({ sender: contents, senderFrame: { url: 'https://example.com/' } }), null);

    const send = fake.ipcListeners.get(CHANNELS.send)!;
    send({ sender: contents, senderFrame: { url: 'https://example.com/' } }, { id: 8, method: 'model.current', params: {} });
    send(trusted(), { id: 9, method: 'model.current', params: {}, sneaky: true });
    send(trusted(), { id: 7, method: 'model.current', params: {} });
    const reply = await until('the reply', () => lastSent(contents, CHANNELS.message, (m) => (m as { id?: number }).id === 7));
    assert.deepEqual(reply, { id: 7, ok: true, result: null });
    assert.equal(lastSent(contents, CHANNELS.message, (m) => [8, 9].includes((m as { id: number }).id)), undefined);
    assert.ok(output.some((line) => line.startsWith('dropped a malformed message from the renderer')));
    assert.ok(output.some((line) => line.includes(`database ${path.join(userData, 'mote.db')}`)), output.join('\n'));
  });

  it('saves files through the dialog with validated arguments', async () => {
    const save = fake.ipcHandlers.get(CHANNELS.saveFile)!;
    fake.dialogs.saveTo = path.join(appRoot, 'saved.json');
    assert.equal(await save(trusted(), 'mask.json', '{"entries":[]}'), fake.dialogs.saveTo);
    assert.equal(fs.readFileSync(fake.dialogs.saveTo, 'utf8'), '{"entries":[]}');
    fake.dialogs.saveTo = null;
    assert.equal(await save(trusted(), 'mask.json', '{}'), null);
    assert.throws(() => save(trusted(), '../mask.json', '{}'), /bare file name/);
    assert.throws(() => save({ sender: contents, senderFrame: null }, 'mask.json', '{}'), /not allowed/);
    assert.equal(await fake.ipcHandlers.get(CHANNELS.openFolder)!(trusted()), null);
  });

  it('lets the renderer name only checkpoint folders the user chose in the Open dialog', async () => {
    const send = fake.ipcListeners.get(CHANNELS.send)!;
    const reply = (id: number) => until(`reply ${id}`, () => lastSent(contents, CHANNELS.message, (m) => (m as { id?: number }).id === id)) as Promise<{ ok: boolean; error?: { code: string; message: string } }>;
    send(trusted(), { id: 20, method: 'model.estimate', params: { dir: '/etc' } });
    assert.deepEqual(await reply(20), {
      id: 20, ok: false,
      error: { code: 'bad-request', message: '/etc: not a folder chosen in the Open dialog; choose the checkpoint folder with "Open folder…"' },
    });
    send(trusted(), { id: 21, method: 'model.open', params: { dir: appRoot, precision: 'f32' } });
    assert.match((await reply(21)).error!.message, /not a folder chosen in the Open dialog/);

    fake.dialogs.openTo = appRoot;
    assert.equal(await fake.ipcHandlers.get(CHANNELS.openFolder)!(trusted()), appRoot);
    fake.dialogs.openTo = null;
    // Now the engine answers: the folder is no checkpoint, and it says so.
    send(trusted(), { id: 22, method: 'model.estimate', params: { dir: `${appRoot}/` } });
    assert.match((await reply(22)).error!.message, /not a checkpoint folder/);
    // The demo model (no folder) and malformed params are the engine's to answer.
    send(trusted(), { id: 23, method: 'model.estimate', params: { dir: 7 } });
    assert.match((await reply(23)).error!.message, /invalid params for model\.estimate/);
  });
});
