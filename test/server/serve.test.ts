import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { WebSocket } from 'ws';
import { registerServeCommand } from '../../engine/cli/serve-command.ts';
import { EngineHost } from '../../engine/host/engine-host.ts';
import type { EngineMessage } from '../../engine/protocol/messages.ts';
import { startServer, type RunningServer } from '../../engine/server/serve.ts';
import { testCacheDir } from '../helpers/engine-run.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const GOLDEN = path.resolve(ROOT, '../shared/golden/qwen2_moe-f32');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-serve-'));
const staticDir = path.join(work, 'renderer');
fs.mkdirSync(path.join(staticDir, 'assets'), { recursive: true });
fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><h1>fixture UI</h1>\n');
fs.writeFileSync(path.join(staticDir, 'assets', 'app.js'), 'console.log("app");\n');
fs.writeFileSync(path.join(work, 'secret.txt'), 'not for the browser\n');

/** A raw HTTP GET, so Host and Cookie headers can be set freely. */
function get(port: number, urlPath: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    }).on('error', reject);
  });
}

/** Opens a WebSocket; resolves with it once open, or with the HTTP status the upgrade was refused with. */
function connect(url: string, options: { origin?: string; headers?: Record<string, string> } = {}) {
  return new Promise<WebSocket | number>((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode!));
    ws.once('error', reject);
  });
}

/** Sends requests over a socket and gathers what comes back, by request id. */
function wire(ws: WebSocket) {
  const messages: EngineMessage[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
  const replyTo = async (id: number) => {
    for (;;) {
      const reply = messages.find((m) => !('event' in m) && m.id === id);
      if (reply) return reply;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  return { messages, replyTo, send: (m: unknown) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)) };
}

describe('mote serve', () => {
  let host: EngineHost;
  let server: RunningServer;
  before(async () => {
    host = new EngineHost({ demoModelDir: GOLDEN, probesDir: work, dbFile: path.join(work, 'mote.db'), cacheDir: testCacheDir, threads: 1 });
    server = await startServer({ host, staticDir, port: 0 });
  });
  after(async () => {
    await server.close();
    await host.dispose();
  });

  it('prints a token URL on 127.0.0.1', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
    assert.equal(server.url, `http://127.0.0.1:${server.port}/?token=${server.token}`);
  });

  it('refuses HTTP requests without the token, with a wrong one, or for another Host', async () => {
    assert.equal((await get(server.port, '/')).status, 401);
    assert.equal((await get(server.port, '/?token=0123')).status, 401);
    assert.equal((await get(server.port, `/assets/app.js`)).status, 401);
    assert.equal((await get(server.port, `/?token=${server.token}`, { Host: `rebound.example:${server.port}` })).status, 403);
  });

  it('serves the UI with the token, and its assets with the cookie it sets', async () => {
    const page = await get(server.port, `/?token=${server.token}`);
    assert.equal(page.status, 200);
    assert.match(page.body, /fixture UI/);
    assert.match(page.headers['content-type']!, /text\/html/);
    const cookie = page.headers['set-cookie']![0].split(';')[0];
    assert.match(page.headers['set-cookie']![0], /HttpOnly; SameSite=Strict/);
    const asset = await get(server.port, '/assets/app.js', { Cookie: cookie });
    assert.equal(asset.status, 200);
    assert.match(asset.headers['content-type']!, /text\/javascript/);
    assert.equal((await get(server.port, '/some/route', { Cookie: cookie })).body, fs.readFileSync(path.join(staticDir, 'index.html'), 'utf8'), 'app routes get index.html');
    assert.equal((await get(server.port, '/missing.js', { Cookie: cookie })).status, 404);
    assert.equal((await get(server.port, '/..%2fsecret.txt', { Cookie: cookie })).status, 403);
    assert.equal((await get(server.port, '/assets/app.js', { Cookie: 'mote_token_1=nope' })).status, 401);
  });

  it('says how to build the UI when the bundle is missing', async () => {
    const bare = await startServer({ host, staticDir: path.join(work, 'no-bundle'), port: 0 });
    try {
      const page = await get(bare.port, `/?token=${bare.token}`);
      assert.equal(page.status, 500);
      assert.match(page.body, /npm run build:renderer/);
    } finally {
      await bare.close();
    }
  });

  it('refuses WebSocket upgrades without the token, from another Origin or Host, or off /ws', async () => {
    const ws = `ws://127.0.0.1:${server.port}/ws`;
    assert.equal(await connect(ws), 401);
    assert.equal(await connect(`${ws}?token=wrong`), 401);
    assert.equal(await connect(`${ws}?token=${server.token}`, { origin: 'http://evil.example' }), 403);
    assert.equal(await connect(`${ws}?token=${server.token}`, { origin: `http://localhost:${server.port + 1}` }), 403);
    assert.equal(await connect(`${ws}?token=${server.token}`, { headers: { Host: `rebound.example:${server.port}` } }), 403);
    assert.equal(await connect(`ws://127.0.0.1:${server.port}/other?token=${server.token}`), 404);
  });

  it('speaks the engine protocol over /ws: replies, errors, streamed events and cancellation', async () => {
    const ws = await connect(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`, { origin: `http://127.0.0.1:${server.port}` });
    assert.ok(ws instanceof WebSocket);
    const c = wire(ws);
    c.send({ id: 1, method: 'model.current', params: {} });
    assert.deepEqual(await c.replyTo(1), { id: 1, ok: true, result: null });
    c.send('{ not json');
    assert.equal((await c.replyTo(-1) as { error: { code: string } }).error.code, 'bad-request');
    c.send({ id: 2, method: 'model.open', params: {} });
    assert.equal((await c.replyTo(2) as { ok: boolean }).ok, true);

    // Greedy from "t5" runs 250 tokens without <eos>; the cancel crosses the wire after the first one arrives.
    c.send({ id: 3, method: 'generate', params: { prompt: 't5', chat: false, mask: { mode: 'backfill', forceWeight: 'natural', entries: [] }, maxTokens: 250, seed: 0, temperature: 0, topK: 0, topP: 1 } });
    while (!c.messages.some((m) => 'event' in m && m.event === 'generate.token')) await new Promise((resolve) => setTimeout(resolve, 1));
    c.send({ cancel: 3 });
    assert.deepEqual(await c.replyTo(3), { id: 3, ok: false, error: { code: 'cancelled', message: 'cancelled' } });
    const tokens = c.messages.filter((m) => 'event' in m && m.id === 3).length;
    assert.ok(tokens < 100, `cancelled promptly (${tokens} tokens)`);
    ws.close();
  });

  it('authenticates a WebSocket by the cookie a page load set', async () => {
    const page = await get(server.port, `/?token=${server.token}`);
    const cookie = page.headers['set-cookie']![0].split(';')[0];
    const ws = await connect(`ws://127.0.0.1:${server.port}/ws`, { origin: `http://localhost:${server.port}`, headers: { Cookie: cookie } });
    assert.ok(ws instanceof WebSocket);
    const c = wire(ws);
    c.send({ id: 7, method: 'probes.list', params: {} });
    assert.deepEqual(await c.replyTo(7), { id: 7, ok: true, result: [] });
    ws.close();
  });
});

describe('mote serve (command)', () => {
  it('--help says it is browser mode', () => {
    const program = new Command();
    registerServeCommand(program);
    const help = program.commands[0].helpInformation();
    assert.match(help, /browser mode/);
    for (const flag of ['--port', '--open', '--model', '--db']) assert.ok(help.includes(flag), flag);
  });

  it('prints the URL as its first line, serves, and stops on SIGTERM', async () => {
    const env = { ...process.env, MOTE_CACHE_DIR: testCacheDir, MOTE_DATA_DIR: work, MOTE_PROBES_DIR: work };
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/mote.js'), 'serve', '--port', '0', '--static', staticDir, '--db', path.join(work, 'cli.db')], { env });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const firstLine = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]);
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
    });
    const match = /^http:\/\/127\.0\.0\.1:(\d+)\/\?token=([0-9a-f]+)$/.exec(firstLine);
    assert.ok(match, firstLine);
    const page = await get(Number(match[1]), `/?token=${match[2]}`);
    assert.equal(page.status, 200);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  });
});
