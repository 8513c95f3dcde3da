/**
 * `npm start`'s launcher (scripts/start.mjs) in browser mode: however it is stopped — SIGTERM, SIGINT, or the
 * shell npm runs it through being killed — the `mote serve` it started is gone afterwards.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-start-'));
/** Every process a test started, stopped after all tests whatever their outcome. */
const started: number[] = [];
after(() => {
  for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

// `--open` runs the desktop's opener: a stand-in that opens nothing.
const bin = path.join(tmp, 'bin');
fs.mkdirSync(bin);
fs.writeFileSync(path.join(bin, 'xdg-open'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, MOTE_DATA_DIR: path.join(tmp, 'data') };

function childrenOf(pid: number): number[] {
  const r = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  return r.stdout.split('\n').map((l) => Number(l.trim())).filter((n) => n > 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts `command` and waits for the server's URL; returns the launcher's pid and the server's. */
async function startServer(command: string, args: string[]): Promise<{ proc: ChildProcess; launcher: number; server: number; output: () => string }> {
  const proc = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(proc.pid!);
  let output = '';
  proc.stdout!.on('data', (d) => { output += d; });
  proc.stderr!.on('data', (d) => { output += d; });
  await until('the server URL', () => /http:\/\/127\.0\.0\.1:\d+\/\?token=/.test(output) || proc.exitCode !== null);
  assert.equal(proc.exitCode, null, output);
  const launcher = command === 'sh' ? childrenOf(proc.pid!)[0] : proc.pid!;
  const [server] = childrenOf(launcher);
  started.push(launcher, server);
  assert.ok(launcher && server, `launcher ${launcher}, server ${server}: ${output}`);
  assert.match(fs.readFileSync(`/proc/${server}/cmdline`, 'utf8'), /bin\/mote\.js\0serve\0--open/, 'the launcher runs `mote serve --open`');
  return { proc, launcher, server, output: () => output };
}

describe('npm start launcher (browser mode)', { timeout: 600_000 }, () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} to the launcher stops the server it started, and the launcher exits`, async () => {
      const { proc, server, output } = await startServer(process.execPath, ['scripts/start.mjs', '--browser', '--port', '0']);
      proc.kill(signal);
      await until('the server to exit', () => !alive(server), 20_000);
      await until('the launcher to exit', () => proc.exitCode !== null || proc.signalCode !== null, 20_000);
      assert.match(output(), new RegExp(`${signal}: shutting down`));
    });
  }

  it('killing the shell npm runs it through stops the launcher and the server', async () => {
    const { proc, launcher, server } = await startServer('sh', ['-c', `"${process.execPath}" scripts/start.mjs --browser --port 0; true`]);
    proc.kill('SIGKILL');
    await until('the server to exit', () => !alive(server), 20_000);
    await until('the launcher to exit', () => !alive(launcher), 20_000);
  });
});
