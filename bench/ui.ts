/**
 * UI benchmark. Prints figures; asserts nothing.
 *   npm run bench:ui -- [--frames N] [--clicks N] [--model DIR] [--threads N]
 * In headless Chromium (/usr/bin/chromium, or CHROMIUM=path), on the built renderer (dist/renderer; built when
 * missing):
 * (a) heatmap paint time, ms per frame, for 58 × 256 (DeepSeek-sized) and 16 × 64 cells, through
 *     window.__moteBench.renderHeatmap on dist/renderer/bench/heatmap-bench.html (served by a tiny static server:
 *     module scripts do not load from file://), at devicePixelRatio 1 and 2; target ≤ 16 ms (one 60 Hz frame);
 * (b) mask click → first streamed token in Steering, on the demo model (models/demo, or --model / MOTE_E2E_MODEL)
 *     through a real `mote serve`: a cell of the steering heatmap is clicked (switching that expert off) and the
 *     time runs until the live output (data-testid live-output) shows its first token of the new run. It includes
 *     the UI's deliberate 300 ms debounce of mask changes (steering-slice.ts), shown split out.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { expandProbeSet } from '../engine/probes/expand.ts';
import { loadProbeSet } from '../engine/probes/load-probe-set.ts';
import { cellCenter, ensureRenderer, launchChromium, RENDERER_DIR, ROOT, startMoteServe } from '../test/e2e/harness.ts';

const { values: args } = parseArgs({
  options: {
    frames: { type: 'string', default: '60' },
    clicks: { type: 'string', default: '5' },
    model: { type: 'string' },
    threads: { type: 'string', default: '0' },
  },
});
const FRAMES = Number(args.frames);
const CLICKS = Number(args.clicks);
const MODEL_DIR = path.resolve(args.model ?? process.env.MOTE_E2E_MODEL ?? path.join(ROOT, 'models/demo'));
const PROBES_DIR = path.resolve(process.env.MOTE_E2E_PROBES ?? path.join(ROOT, 'probes'));
const TRIALS = 5;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)} ms`;

const MIME: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' };

/** dist/renderer over HTTP on 127.0.0.1 (GET only, no directory listing). */
function staticServer(root: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const file = path.join(root, path.normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': MIME[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

interface BenchWindow { __moteBench: { renderHeatmap(rows: number, cols: number, frames: number): number } }

async function heatmapBench(browser: Browser): Promise<void> {
  const files = await staticServer(RENDERER_DIR);
  try {
    console.log(`(a) heatmap paint, ms per frame (mean over ${FRAMES} frames; median of ${TRIALS} trials) — target ≤ 16 ms`);
    for (const dpr of [1, 2]) {
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: dpr });
      await page.goto(`${files.url}/bench/heatmap-bench.html`);
      await page.waitForFunction(() => !!(globalThis as unknown as Partial<BenchWindow>).__moteBench);
      for (const [rows, cols] of [[58, 256], [16, 64]]) {
        const trials: number[] = [];
        for (let t = 0; t < TRIALS; t++) {
          trials.push(await page.evaluate(([r, c, f]) => (globalThis as unknown as BenchWindow).__moteBench.renderHeatmap(r, c, f), [rows, cols, FRAMES] as const));
        }
        console.log(`    ${String(rows).padStart(2)} × ${String(cols).padEnd(3)} cells, dpr ${dpr}: ${ms(median(trials)).padStart(9)} per frame  (trials ${trials.map((x) => x.toFixed(2)).join(', ')})`);
      }
      await page.close();
    }
  } finally {
    await files.close();
  }
}

/** In-page timestamps (performance.now) of one mask click and what the live output did after it. */
interface ClickTiming { click: number; waiting: number | null; running: number | null; firstToken: number | null; painted: number | null }

/**
 * Installed before each click (as source text: tsx would wrap named functions in a helper the page lacks). Records the
 * pointerdown's timestamp, then when live-output turns waiting (debounce), running (request sent) and shows its first
 * token (MutationObserver: the DOM commit), and two animation frames after that (painted).
 */
const INSTRUMENT_CLICK = `(() => {
  const timing = { click: NaN, waiting: null, running: null, firstToken: null, painted: null };
  window.__clickTiming = timing;
  const out = document.querySelector('[data-testid="live-output"]');
  const onDown = (e) => {
    timing.click = e.timeStamp;
    document.removeEventListener('pointerdown', onDown, true);
  };
  document.addEventListener('pointerdown', onDown, true);
  const observer = new MutationObserver(() => {
    const now = performance.now();
    const status = out.getAttribute('data-status');
    if (Number.isNaN(timing.click)) return;
    if (status === 'waiting' && timing.waiting === null) timing.waiting = now;
    if (status === 'running' && timing.waiting !== null && timing.running === null) timing.running = now;
    if (timing.running !== null && timing.firstToken === null && out.querySelector('.tok')) {
      timing.firstToken = now;
      observer.disconnect();
      requestAnimationFrame(() => requestAnimationFrame(() => { timing.painted = performance.now(); }));
    }
  });
  observer.observe(out, { attributes: true, childList: true, subtree: true, characterData: true });
})()`;

async function clickToTokenBench(browser: Browser): Promise<void> {
  if (!fs.existsSync(path.join(MODEL_DIR, 'config.json'))) {
    console.log(`(b) skipped: no demo model in ${MODEL_DIR} (train it with tools/train-demo/train.py, or pass --model DIR)`);
    return;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-bench-ui-'));
  const server = await startMoteServe(['--db', path.join(work, 'runs.db'), '--threads', args.threads!], {
    MOTE_CACHE_DIR: path.join(work, 'cache'),
    MOTE_DATA_DIR: path.join(work, 'data'),
    MOTE_DEMO_MODEL: MODEL_DIR,
    MOTE_PROBES_DIR: PROBES_DIR,
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(120_000);
    await page.goto(server.url);
    await page.getByTestId('model-card').waitFor();
    const info = await page.getByTestId('model-badge').innerText();
    await page.getByTestId('tab-steering').click();
    await page.getByTestId('steer-heatmap-canvas').waitFor();
    const heldout = path.join(PROBES_DIR, 'demo-heldout.json');
    const prompt = fs.existsSync(heldout) ? expandProbeSet(loadProbeSet(heldout)).find((p) => p.class === 'refused')?.text : undefined;
    await page.getByTestId('live-prompt').fill(prompt ?? 'Hello, how are you?');
    await page.getByTestId('live-run').click();
    await page.locator('[data-testid="live-output"][data-status="done"]').waitFor();

    const hit = page.getByTestId('steer-heatmap-hit');
    const moeLayers = (await hit.getAttribute('data-layers'))!.split(',').map(Number);
    const experts = Number(await hit.getAttribute('data-experts'));
    const timings: ClickTiming[] = [];
    // One warm-up click, then CLICKS measured; each switches a different expert off (row and column both move).
    for (let i = 0; i <= CLICKS; i++) {
      const layer = moeLayers[i % moeLayers.length];
      const expert = (3 + 5 * i) % experts;
      const at = await cellCenter(page, 'steer-heatmap', layer, expert);
      if (!at) throw new Error(`cell (${layer}, ${expert}) is not on screen`);
      await page.evaluate(INSTRUMENT_CLICK);
      await page.mouse.click(at.x, at.y);
      await page.waitForFunction(() => (globalThis as unknown as { __clickTiming: ClickTiming }).__clickTiming.painted !== null);
      await page.locator('[data-testid="live-output"][data-status="done"]').waitFor();
      const t = await page.evaluate(() => (globalThis as unknown as { __clickTiming: ClickTiming }).__clickTiming);
      if (i > 0) timings.push(t);
    }
    const total = timings.map((t) => t.firstToken! - t.click);
    const debounce = timings.map((t) => t.running! - t.click);
    const engine = timings.map((t) => t.firstToken! - t.running!);
    const painted = timings.map((t) => t.painted! - t.click);
    console.log(`(b) mask click → first streamed token in Steering (${info}; median of ${CLICKS} clicks, after 1 warm-up)`);
    console.log(`    click → first token in the live output: ${ms(median(total))}  (each: ${total.map((x) => x.toFixed(0)).join(', ')} ms)`);
    console.log(`      of which click → run starts (300 ms debounce): ${ms(median(debounce))}`);
    console.log(`      run starts → first token (request, prefill, first step, render): ${ms(median(engine))}`);
    console.log(`    click → first token painted (2 animation frames later): ${ms(median(painted))}`);
    await page.close();
  } finally {
    await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

ensureRenderer();
const browser = await launchChromium();
try {
  console.log(`UI benchmark: Chromium ${browser.version()}, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}`);
  await heatmapBench(browser);
  await clickToTokenBench(browser);
} finally {
  await browser.close();
}
