/**
 * Shared by the end-to-end test (test/e2e/*.test.ts) and the UI benchmark (bench/ui.ts): the built renderer, a real
 * `mote serve` child in browser mode, and headless Debian Chromium through playwright-core.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { ExpertMask } from '../../engine/protocol/types.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const RENDERER_DIR = path.join(ROOT, 'dist/renderer');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

/** Fails with what to do when the system Chromium is missing (`npx playwright install` cannot work here). */
export function requireChromium(): void {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: the end-to-end tests drive the system Chromium — install it with \`apt-get install chromium\` (CI does), or set CHROMIUM=/path/to/chromium`);
  }
}

export function launchChromium(): Promise<Browser> {
  requireChromium();
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Latest modification time of the files under `dir`. */
function newestMtime(dir: string): number {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .reduce((latest, e) => Math.max(latest, fs.statSync(path.join(e.parentPath, e.name)).mtimeMs), 0);
}

/** Builds the renderer bundle (`npm run build:renderer`) when dist/renderer has none or its sources are newer. */
export function ensureRenderer(): void {
  const wanted = [path.join(RENDERER_DIR, 'index.html'), path.join(RENDERER_DIR, 'bench/heatmap-bench.html')];
  const sources = Math.max(...['renderer', 'engine/protocol', 'engine/common'].map((dir) => newestMtime(path.join(ROOT, dir))));
  if (wanted.every((f) => fs.existsSync(f) && fs.statSync(f).mtimeMs >= sources)) return;
  execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build:renderer'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 180_000 });
  for (const f of wanted) if (!fs.existsSync(f)) throw new Error(`npm run build:renderer did not produce ${f}`);
}

/** Throws a readable error when the demo model (or the checkpoint standing in for it) is not there. */
export function requireModel(dir: string): void {
  const missing = ['config.json', 'planted-experts.json'].filter((f) => !fs.existsSync(path.join(dir, f)));
  if (missing.length) {
    throw new Error(`no ${missing.join(' and ')} in ${dir}: the demo model is trained by tools/train-demo/train.py (see models/demo/MODEL.md)`);
  }
}

export interface MoteServe {
  /** http://127.0.0.1:PORT/?token=TOKEN, the first line `mote serve` printed. */
  url: string;
  port: number;
  token: string;
  child: ChildProcess;
  /** Everything the server wrote to stderr so far. */
  log(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. */
  stop(): Promise<void>;
}

/** Starts `node bin/mote.js serve --port 0 …` and resolves once it printed its URL. */
export async function startMoteServe(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 90_000): Promise<MoteServe> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/mote.js'), 'serve', '--port', '0', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Never outlive the test or benchmark process, even when it dies without running its `after`.
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  void exited.then(() => process.off('exit', orphanGuard));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`mote serve printed no URL within ${timeoutMs} ms`)), timeoutMs);
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        const nl = stdout.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(timer);
          resolve(stdout.slice(0, nl).trim());
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`mote serve exited (${code ?? signal}) before printing its URL`));
      });
    });
    const u = new URL(url);
    if (u.hostname !== '127.0.0.1' || !u.searchParams.get('token')) throw new Error(`unexpected first line of mote serve: ${url}`);
    return { url, port: Number(u.port), token: u.searchParams.get('token')!, child, log: () => stderr, stop };
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- mote serve stderr ---\n${stderr}`);
  }
}

/** What `window.__moteTest` offers (renderer/test-hooks.ts); the page's types are not ours (no DOM lib here). */
interface TestWindow {
  __moteTest: {
    topRanked(n: number): { layer: number; expert: number }[];
    currentMask(): ExpertMask;
    cellCenter(grid: string, layer: number, expert: number): { x: number; y: number } | null;
  };
}
export const topRanked = (page: Page, n: number) => page.evaluate((k) => (globalThis as unknown as TestWindow).__moteTest.topRanked(k), n);
export const currentMask = (page: Page) => page.evaluate(() => (globalThis as unknown as TestWindow).__moteTest.currentMask());
export const cellCenter = (page: Page, grid: string, layer: number, expert: number) =>
  page.evaluate(([g, l, e]) => (globalThis as unknown as TestWindow).__moteTest.cellCenter(g, l, e), [grid, layer, expert] as const);
