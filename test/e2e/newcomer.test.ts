/**
 * Browser mode on the demo model: the app icon is the page's favicon, and a SteerMoE matrix imported in the Export
 * view becomes the current mask and exports again, byte for byte, in SteerMoE's form. Screenshots:
 * test-artifacts/e2e/newcomer-*.png.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { currentMask, ensureRenderer, launchChromium, requireModel, ROOT, startMoteServe, type MoteServe } from './harness.ts';

const MODEL_DIR = path.join(ROOT, 'models/demo');
const SHOTS = path.join(ROOT, 'test-artifacts/e2e');
const LONG = 120_000;

describe('newcomer: favicon and SteerMoE masks in browser mode (demo model)', { timeout: 300_000 }, () => {
  let work: string;
  let server: MoteServe | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  const tid = (id: string) => page.getByTestId(id);
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `newcomer-${name}.png`), fullPage: true });

  before(async () => {
    requireModel(MODEL_DIR);
    ensureRenderer();
    fs.mkdirSync(SHOTS, { recursive: true });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-e2e-newcomer-'));
    [server, browser] = await Promise.all([
      startMoteServe(['--db', path.join(work, 'runs.db')], {
        MOTE_CACHE_DIR: path.join(work, 'cache'), MOTE_DATA_DIR: path.join(work, 'data'), MOTE_DEMO_MODEL: MODEL_DIR,
      }),
      launchChromium(),
    ]);
    page = await browser.newPage({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
    page.setDefaultTimeout(LONG);
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
    });
    await page.goto(server.url);
    await tid('model-card').waitFor();
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('the favicon is the app icon', async () => {
    const href = await page.locator('link[rel="icon"]').evaluate((link) => (link as unknown as { href: string }).href);
    assert.equal(new URL(href).pathname, '/icon.png');
    const response = await page.request.get(href);
    assert.equal(response.status(), 200);
    assert.equal(response.headers()['content-type'], 'image/png');
    assert.deepEqual(Buffer.from(await response.body()), fs.readFileSync(path.join(ROOT, 'renderer/public/icon.png')));
  });

  it('a SteerMoE matrix imports as the current mask and exports again in the same form', async () => {
    const { planted } = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'planted-experts.json'), 'utf8')) as { planted: { layer: number; expert: number }[] };
    const config = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'config.json'), 'utf8'));
    const rows = Array.from({ length: config.num_hidden_layers }, (_, layer) =>
      Array.from({ length: config.num_experts }, (_, expert) => (planted.some((p) => p.layer === layer && p.expert === expert) ? -1 : 0)));
    // Written by hand in the form engine/steering/steermoe.ts documents: a row per decoder layer, one per line.
    const text = `{\n  "format": "steermoe",\n  "num_hidden_layers": ${rows.length},\n  "num_experts": ${config.num_experts},\n`
      + `  "moe_manual_weights": [\n${rows.map((r) => `    [${r.join(', ')}]`).join(',\n')}\n  ]\n}\n`;
    const file = path.join(work, 'planted.steermoe.json');
    fs.writeFileSync(file, text);

    await tid('tab-export').click();
    await tid('import-mask-file').setInputFiles(file);
    await tid('import-result').waitFor();
    const result = await tid('import-result').innerText();
    assert.match(result, new RegExp(`planted\\.steermoe\\.json: ${planted.length} off, 0 forced, backfill/max`));
    assert.match(result, /is a SteerMoE matrix, which names no model/);
    const mask = await currentMask(page);
    assert.deepEqual(mask.entries.map(({ layer, expert }) => ({ layer, expert })).sort((a, b) => a.layer - b.layer || a.expert - b.expert),
      [...planted].sort((a, b) => a.layer - b.layer || a.expert - b.expert));

    await tid('export-mask-name').fill('planted experts');
    await tid('export-mask-format-steermoe').click();
    const [download] = await Promise.all([page.waitForEvent('download'), tid('export-mask').click()]);
    assert.equal(download.suggestedFilename(), 'planted-experts.steermoe.json');
    const saved = path.join(work, 'exported.json');
    await download.saveAs(saved);
    await tid('export-mask-result').waitFor();
    await page.mouse.move(2, 2);
    await shot('export-steermoe');
    assert.equal(fs.readFileSync(saved, 'utf8'), text);
  });

  it('no errors in the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
