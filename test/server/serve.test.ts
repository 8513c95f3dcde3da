import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
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
import { sharedFolder } from '../helpers/golden.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const GOLDEN = sharedFolder('golden', 'qwen2_moe-f32');
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

  it('answers hostile paths, files and masks from a browser with short clear errors, and keeps answering', async () => {
    const ws = await connect(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`, { origin: `http://127.0.0.1:${server.port}` });
    assert.ok(ws instanceof WebSocket);
    const c = wire(ws);
    const error = async (id: number) => {
      const reply = await c.replyTo(id) as { ok: boolean; error: { code: string; message: string } };
      assert.equal(reply.ok, false);
      return reply.error;
    };
    // Outside the probes folder: refused before anything is opened.
    c.send({ id: 1, method: 'probes.expand', params: { file: '/dev/zero' } });
    assert.match((await error(1)).message, /^\/dev\/zero: probe sets are read only from the probes folder/);
    c.send({ id: 2, method: 'probes.expand', params: { file: '../outside.json' } });
    assert.equal((await error(2)).code, 'bad-request');
    // Inside it, a FIFO: refused on the open file, not waited on.
    execFileSync('mkfifo', [path.join(work, 'pipe.json')]);
    c.send({ id: 3, method: 'probes.expand', params: { file: 'pipe.json' } });
    assert.match((await error(3)).message, /pipe\.json: is a named pipe \(FIFO\), not a file/);
    c.send({ id: 4, method: 'probes.list', params: {} });
    assert.deepEqual(await c.replyTo(4), { id: 4, ok: true, result: [{ file: path.join(work, 'pipe.json'), error: `${path.join(work, 'pipe.json')}: is a named pipe (FIFO), not a file; a probe set is a regular file` }] });
    // An upload: the browser sends the file's text.
    const set = { type: 'templates', id: 'up', title: 'Up', classes: [{ id: 'a' }], templates: [{ text: 'say {x}' }], slots: { x: ['a', 'b'] } };
    c.send({ id: 5, method: 'probes.expand', params: { file: 'up.json', text: JSON.stringify(set) } });
    const uploaded = await c.replyTo(5) as { ok: true; result: { set: { file: string; promptCount: number } } };
    assert.deepEqual([uploaded.ok, uploaded.result.set.promptCount], [true, 2]);
    assert.equal(path.dirname(uploaded.result.set.file), path.join(work, 'uploaded-probes'));
    // A 43 MB invalid mask fits in a frame; its reply is one short line.
    const entry = '{"layer": "x", "state": "on"}, ';
    c.send({ id: 6, method: 'mask.import', params: { json: `{"entries": [${entry.repeat(Math.ceil(43e6 / entry.length))}{}]}` } });
    const raw = await new Promise<string>((resolve) => {
      const listener = (data: Buffer) => {
        if (JSON.parse(data.toString()).id === 6) {
          ws.off('message', listener);
          resolve(data.toString());
        }
      };
      ws.on('message', listener);
    });
    assert.ok(raw.length < 400, `${raw.length} bytes: ${raw.slice(0, 400)}`);
    assert.equal(JSON.parse(raw).error.code, 'bad-request');
    c.send({ id: 7, method: 'model.current', params: {} });
    assert.equal((await c.replyTo(7) as { ok: boolean }).ok, true, 'still answering');
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

/** Issue 11, case 7: a strict Content-Security-Policy on every response, and `--open` without the token on a command line. */
describe('mote serve: Content-Security-Policy and --open (issue 11, case 7)', () => {
  const RENDERER = path.join(ROOT, 'dist/renderer');
  const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
  let host: EngineHost;
  let server: RunningServer;
  before(async () => {
    host = new EngineHost({ demoModelDir: GOLDEN, probesDir: work, dbFile: path.join(work, 'csp.db'), cacheDir: testCacheDir, threads: 1 });
    server = await startServer({ host, staticDir, port: 0 });
  });
  after(async () => {
    await server.close();
    await host.dispose();
  });

  const policy = (headers: http.IncomingHttpHeaders) => {
    const csp = headers['content-security-policy'];
    assert.equal(typeof csp, 'string', 'a Content-Security-Policy header');
    return new Map((csp as string).split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
  };

  it('is strict on every response: the page, assets, refusals, errors; connections only to its own origin and WebSocket', async () => {
    const page = await get(server.port, `/?token=${server.token}`);
    const cookie = page.headers['set-cookie']![0].split(';')[0];
    const own = `127.0.0.1:${server.port}`;
    const p = policy(page.headers);
    assert.deepEqual(p.get('default-src'), ["'self'"]);
    assert.deepEqual(p.get('script-src'), ["'self'"]);
    assert.deepEqual(p.get('style-src'), ["'self'"]);
    assert.deepEqual(p.get('connect-src'), ["'self'", `ws://${own}`]);
    assert.deepEqual(p.get('object-src'), ["'none'"]);
    assert.deepEqual(p.get('frame-ancestors'), ["'none'"]);
    assert.ok(![...p.values()].flat().some((v) => /unsafe|\*|^ws:$|^http:$/.test(v)), String(page.headers['content-security-policy']));

    const responses = [
      await get(server.port, '/assets/app.js', { Cookie: cookie }),
      await get(server.port, '/missing.js', { Cookie: cookie }),
      await get(server.port, '/..%2fsecret.txt', { Cookie: cookie }),
      await get(server.port, '/'),
    ];
    assert.deepEqual(responses.map((r) => r.status), [200, 404, 403, 401]);
    for (const r of responses) assert.equal(r.headers['content-security-policy'], page.headers['content-security-policy']);
    // The page as reached through localhost may connect to localhost's WebSocket only.
    assert.deepEqual(policy((await get(server.port, `/?token=${server.token}`, { Host: `localhost:${server.port}` })).headers).get('connect-src'), ["'self'", `ws://localhost:${server.port}`]);
    // A request for another Host is refused with a policy that allows no connection at all.
    const rebound = await get(server.port, `/?token=${server.token}`, { Host: `rebound.example:${server.port}` });
    assert.equal(rebound.status, 403);
    assert.deepEqual(policy(rebound.headers).get('connect-src'), ["'none'"]);
    // The page that says the UI is not built, and a refused WebSocket upgrade.
    const bare = await startServer({ host, staticDir: path.join(work, 'no-bundle'), port: 0 });
    try {
      const unbuilt = await get(bare.port, `/?token=${bare.token}`);
      assert.equal(unbuilt.status, 500);
      assert.deepEqual(policy(unbuilt.headers).get('script-src'), ["'self'"]);
    } finally {
      await bare.close();
    }
    const refusedUpgrade = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const ws = new WebSocket(`ws://${own}/ws`);
      ws.once('unexpected-response', (_req, res) => resolve(res));
      ws.once('error', reject);
    });
    assert.equal(refusedUpgrade.statusCode, 401);
    assert.deepEqual(policy(refusedUpgrade.headers).get('connect-src'), ["'self'", `ws://${own}`]);
  });

  it('the built renderer runs under it, and a connection elsewhere is blocked', { skip: !fs.existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, async () => {
    if (!fs.existsSync(path.join(RENDERER, 'index.html'))) {
      const { ensureRenderer } = await import('../e2e/harness.ts');
      ensureRenderer();
    }
    const { chromium } = await import('playwright-core');
    const ui = await startServer({ host, staticDir: RENDERER, port: 0 });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.addInitScript(() => {
        const w = globalThis as unknown as { __violations: string[]; document: { addEventListener(type: string, f: (e: { violatedDirective: string; blockedURI: string }) => void): void } };
        w.__violations = [];
        w.document.addEventListener('securitypolicyviolation', (e) => w.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
      });
      const response = await page.goto(ui.url);
      assert.ok(response!.headers()['content-security-policy'], 'served with the policy');
      await page.waitForSelector('[data-testid="engine-banner"]', { state: 'detached', timeout: 30_000 });
      for (const tab of ['model', 'probes', 'imaging', 'steering', 'compare', 'evaluate', 'export']) {
        await page.click(`[data-testid="tab-${tab}"]`);
        await page.waitForSelector(`[data-testid="view-${tab}"]`);
      }
      const violations = () => page.evaluate(() => (globalThis as unknown as { __violations: string[] }).__violations);
      assert.deepEqual(await violations(), [], 'the UI needs nothing the policy forbids');
      assert.deepEqual(errors, []);
      // The policy is enforced: a socket to another origin (another port of this machine) is refused by the browser.
      await page.evaluate(() => {
        try {
          new (globalThis as unknown as { WebSocket: new (url: string) => unknown }).WebSocket('ws://127.0.0.1:9/elsewhere');
        } catch {
          // Chromium throws a SecurityError as well as reporting the violation.
        }
      });
      await page.waitForFunction(() => (globalThis as unknown as { __violations: string[] }).__violations.length > 0);
      // Reported once per policy that forbids it: the header's and the page's own meta policy.
      const reported = await violations();
      assert.ok(reported.length >= 1 && reported.every((v) => v === 'connect-src ws://127.0.0.1:9/elsewhere'), JSON.stringify(reported));
    } finally {
      await browser.close();
      await ui.close();
    }
  });

  it('openBrowser hands the browser a redirect page only this user can read, never the token', async () => {
    const { openBrowser } = await import('../../engine/server/open-browser.ts');
    const launched: string[][] = [];
    const logs: string[] = [];
    const opened = openBrowser(server.url, (l) => logs.push(l), {
      command: (target) => {
        launched.push([target]);
        return [process.execPath, ['-e', '', target]];
      },
    })!;
    assert.ok(opened);
    assert.deepEqual(launched, [[opened.file]]);
    assert.ok(!opened.file.includes(server.token));
    assert.equal(fs.statSync(opened.file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(opened.file)).mode & 0o777, 0o700);
    const html = fs.readFileSync(opened.file, 'utf8');
    assert.ok(html.includes(`<meta http-equiv="refresh" content="0;url=${server.url}">`), html);
    assert.match(logs.join('\n'), /through .*open-mote-studio\.html \(readable only by you\)/);
    opened.remove();
    assert.equal(fs.existsSync(path.dirname(opened.file)), false, 'removed with its folder');
    const expiring = openBrowser(server.url, () => undefined, { command: () => [process.execPath, ['-e', '']], keepMs: 20 })!;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(fs.existsSync(expiring.file), false, 'removed once the browser had time to load it');
  });

  it('the redirect page takes a browser to the UI with its token', { skip: !fs.existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, async () => {
    const { openBrowser } = await import('../../engine/server/open-browser.ts');
    const { pathToFileURL } = await import('node:url');
    const { chromium } = await import('playwright-core');
    const opened = openBrowser(server.url, () => undefined, { command: () => [process.execPath, ['-e', '']] })!;
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
    try {
      const page = await browser.newPage();
      const landed = page.waitForResponse((r) => r.url() === server.url);
      await page.goto(pathToFileURL(opened.file).href);
      const response = await landed;
      assert.equal(response.status(), 200);
      assert.match(await response.text(), /fixture UI/);
      assert.ok((await page.context().cookies(server.url)).some((c) => c.name === `mote_token_${server.port}`), 'the page load set the cookie');
    } finally {
      await browser.close();
      opened.remove();
    }
  });

  it('`mote serve --open` runs the opener on the redirect page: no command line holds the token', { skip: process.platform !== 'linux' && 'xdg-open is the Linux opener' }, async () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-fake-opener-'));
    const record = path.join(bin, 'argv.json');
    fs.writeFileSync(path.join(bin, 'xdg-open'), `#!${process.execPath}\nconst fs = require('fs');\nfs.writeFileSync(${JSON.stringify(record)}, JSON.stringify({ argv: process.argv.slice(2), page: fs.readFileSync(process.argv[2], 'utf8') }));\n`, { mode: 0o755 });
    const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, MOTE_CACHE_DIR: testCacheDir, MOTE_DATA_DIR: work, MOTE_PROBES_DIR: work };
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/mote.js'), 'serve', '--port', '0', '--open', '--static', staticDir, '--db', path.join(work, 'open.db')], { env });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]);
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
    });
    const token = new URL(url).searchParams.get('token')!;
    for (let i = 0; i < 200 && !fs.existsSync(record); i++) await new Promise((resolve) => setTimeout(resolve, 25));
    const { argv, page } = JSON.parse(fs.readFileSync(record, 'utf8')) as { argv: string[]; page: string };
    assert.equal(argv.length, 1);
    assert.ok(!argv[0].includes(token), argv[0]);
    assert.match(argv[0], /mote-open-.*open-mote-studio\.html$/);
    assert.ok(page.includes(`content="0;url=${url}"`), page);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.equal(fs.existsSync(argv[0]), false, 'the redirect page goes with the server');
    fs.rmSync(bin, { recursive: true, force: true });
  });
});

/** Issue 11, case 5, in browser mode: damaged routing is an error reply naming the file; the engine goes on answering. */
describe('mote serve on a damaged database (issue 11, case 5)', () => {
  it('answers a damaged routing BLOB with an error naming the file and `mote db check`, and keeps answering', async () => {
    const { damage, damageFixture, offsetOf } = await import('../store/damage-helpers.ts');
    const Database = (await import('better-sqlite3')).default;
    const { file, runId } = damageFixture(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mote-serve-db-')), 'runs.db'));
    const raw = new Database(file);
    raw.prepare('UPDATE runs SET model_dir = ?').run(GOLDEN); // so the run's tokenizer loads
    const selected = raw.prepare('SELECT selected FROM prompts WHERE run_id = ? AND idx = 50').pluck().get(runId) as Buffer;
    raw.close();
    damage(file, offsetOf(file, selected) + 8, 64);

    const host = new EngineHost({ demoModelDir: GOLDEN, probesDir: work, dbFile: file, cacheDir: testCacheDir, threads: 1 });
    const server = await startServer({ host, staticDir, port: 0 });
    try {
      const ws = await connect(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`, { origin: `http://127.0.0.1:${server.port}` });
      assert.ok(ws instanceof WebSocket);
      const c = wire(ws);
      // Before: ok with expert ids −32761…31149. Now: an error.
      c.send({ id: 1, method: 'runs.promptRouting', params: { runId, idx: 50 } });
      const damaged = await c.replyTo(1) as { ok: boolean; error: { code: string; message: string } };
      assert.equal(damaged.ok, false);
      assert.ok(damaged.error.message.startsWith(`${file}: the database is damaged (run ${runId}, prompt 50: BLOB selected fails its CRC32 check`), damaged.error.message);
      assert.ok(damaged.error.message.includes(`mote db check --db ${file}`), damaged.error.message);
      c.send({ id: 2, method: 'runs.expertPrompts', params: { runId, layer: 0, expert: 3, span: 'prompt' } });
      assert.equal((await c.replyTo(2) as { ok: boolean }).ok, false);
      // Nothing lost: what is intact still reads, and the engine answers.
      c.send({ id: 3, method: 'runs.heatmap', params: { runId, span: 'prompt' } });
      assert.equal((await c.replyTo(3) as { ok: boolean }).ok, true);
      c.send({ id: 4, method: 'runs.promptRouting', params: { runId, idx: 49 } });
      const intact = await c.replyTo(4) as { ok: boolean; result: { selected: number[] } };
      assert.equal(intact.ok, true);
      assert.ok(intact.result.selected.every((e) => e >= -1 && e < 16));
      c.send({ id: 5, method: 'model.current', params: {} });
      assert.deepEqual(await c.replyTo(5), { id: 5, ok: true, result: null });
      ws.close();
    } finally {
      await server.close();
      await host.dispose();
    }
  });
});
