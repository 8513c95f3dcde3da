/**
 * End to end, against the real engine: `mote serve` in browser mode on the demo model (models/demo), driven in
 * headless Chromium through the Evaluate view — import the planted experts as a mask, evaluate it on the held-out
 * set against two random masks with a dose of 2, and check what the view reports: rates with 95 % Wilson intervals,
 * the random-mask permutation p (and that K = 2 is too few for it to mean much), the dose chart's accuracy line,
 * forcing's accuracy change, the prompts the mask changed, the stored evaluations list, and the CSV / PNG / SVG
 * exports. Screenshots: test-artifacts/e2e/eval-*.png.
 *
 * Needs /usr/bin/chromium (or CHROMIUM=path). Builds dist/renderer when it is missing or older than its sources.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { expandProbeSet } from '../../engine/probes/expand.ts';
import { loadProbeSet } from '../../engine/probes/load-probe-set.ts';
import { ensureRenderer, launchChromium, requireChromium, requireModel, ROOT, startMoteServe, type MoteServe } from './harness.ts';

const MODEL_DIR = path.join(ROOT, 'models/demo');
const SET = 'demo-heldout.json';
const SHOTS = path.join(ROOT, 'test-artifacts/e2e');
const LONG = 90_000;

/** Wilson's 95 % interval from its closed form, in percent to one decimal as the view prints it. */
function wilsonText(hits: number, n: number): string {
  const z = 1.959963984540054;
  const p = hits / n;
  const d = 1 + (z * z) / n;
  const mid = (p + (z * z) / (2 * n)) / d;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return `[${(Math.max(0, mid - half) * 100).toFixed(1)}–${(Math.min(1, mid + half) * 100).toFixed(1)}]`;
}

describe('Evaluate in browser mode against the real engine (demo model)', { timeout: 240_000 }, () => {
  let work: string;
  let server: MoteServe | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  let maskFile: string;
  let targetPrompts: number;
  let benignPrompts: number;
  let firstId: string;

  const tid = (id: string) => page.getByTestId(id);
  const shot = async (name: string) => {
    await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    await page.mouse.move(2, 2);
    await page.waitForTimeout(120);
    await page.screenshot({ path: path.join(SHOTS, `eval-${name}.png`), fullPage: true });
  };
  /** Clicks an export button and reads what it downloaded; on no download, fails with what the view says. */
  const download = async (button: string) => {
    const [file] = await Promise.all([
      page.waitForEvent('download', { timeout: 20_000 }).catch(async (err: Error) => {
        const said = await tid('eval-export-result').innerText({ timeout: 1000 }).catch(() => '(nothing)');
        throw new Error(`${button} downloaded nothing (${err.message}); the view says: ${said}`);
      }),
      tid(button).click(),
    ]);
    return { name: file.suggestedFilename(), bytes: fs.readFileSync((await file.path())!) };
  };
  const fill = async (testId: string, value: string) => {
    await tid(testId).fill(value);
    await tid(testId).blur();
  };

  before(async () => {
    requireChromium();
    requireModel(MODEL_DIR);
    ensureRenderer();
    fs.mkdirSync(SHOTS, { recursive: true });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-e2e-eval-'));
    const prompts = expandProbeSet(loadProbeSet(path.join(ROOT, 'probes', SET)));
    targetPrompts = prompts.filter((p) => p.class === 'refused').length;
    benignPrompts = prompts.length - targetPrompts;
    // The planted experts, switched off, as a mask file for this checkpoint.
    const inspect = JSON.parse(execFileSync(process.execPath, [path.join(ROOT, 'bin/mote.js'), 'inspect', '--model', MODEL_DIR, '--json'], { encoding: 'utf8' }));
    const planted = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'planted-experts.json'), 'utf8')).planted as { layer: number; expert: number }[];
    maskFile = path.join(work, 'planted.json');
    fs.writeFileSync(maskFile, JSON.stringify({
      format: 'mote-mask', version: 1,
      model: { architecture: inspect.architecture, layers: inspect.layers, experts: inspect.experts, topK: inspect.topK, checkpoint: inspect.checkpoint },
      mode: 'backfill', forceWeight: 'natural', entries: planted.map((e) => ({ ...e, state: 'off' })),
    }));
    const started = await Promise.allSettled([
      startMoteServe(['--db', path.join(work, 'runs.db')], {
        MOTE_CACHE_DIR: path.join(work, 'cache'),
        MOTE_DATA_DIR: path.join(work, 'data'),
        MOTE_DEMO_MODEL: MODEL_DIR,
        MOTE_PROBES_DIR: path.join(ROOT, 'probes'),
      }).then((s) => (server = s)),
      launchChromium().then((b) => (browser = b)),
    ]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    page = await browser!.newPage({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
    page.setDefaultTimeout(LONG);
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
    });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('evaluates the planted mask: intervals, random-mask p, dose accuracy line, forcing, changed prompts', { timeout: 150_000 }, async () => {
    await page.goto(server!.url);
    await page.getByTestId('model-badge').filter({ hasText: 'qwen3_moe' }).waitFor();
    await tid('tab-export').click();
    await tid('import-mask-file').setInputFiles(maskFile);
    await tid('import-result').waitFor();

    await tid('tab-evaluate').click();
    const setValue = await tid('eval-set').locator('option').evaluateAll((os, name) => os.map((o) => o.getAttribute('value')!).find((v) => v.endsWith(name as string))!, SET);
    await tid('eval-set').selectOption(setValue);
    await tid('eval-target').selectOption('refused');
    await fill('eval-random', '2');
    await fill('eval-dose', '2');
    await fill('eval-max-tokens', '8');
    await tid('eval-run').click();
    await tid('eval-progress').waitFor();
    await tid('eval-results').waitFor({ timeout: 120_000 });

    const meta = await tid('eval-meta').innerText();
    firstId = /Evaluation #(\d+)/.exec(meta)![1];
    assert.match(meta, new RegExp(`${targetPrompts} target prompts, ${benignPrompts} benign prompts`));
    assert.match(meta, /8 tokens, answers matched “contains”, outputs end at <\|im_end\|>/);

    // Rates with 95 % Wilson intervals: the demo model refuses every target prompt, and with the planted experts
    // off none; the interval bounds are checked against the closed form computed here.
    const row = (name: string) => page.locator(`[data-testid="eval-table"] tr[data-condition="${name}"]`).innerText();
    const baseline = await row('baseline');
    const masked = await row('mask');
    assert.ok(baseline.includes(`100.0% ${wilsonText(targetPrompts, targetPrompts)}`), baseline);
    assert.ok(masked.includes(`0.0% ${wilsonText(0, targetPrompts)}`), masked);
    for (const r of [baseline, masked]) {
      for (const cell of r.split('\t').slice(2)) assert.match(cell.trim(), /^\d+\.\d% \[\d+\.\d–\d+\.\d\]$/, `every rate has its interval: ${r}`);
    }

    // The random-mask test: neither random mask of the planted mask's shape cuts refusals, so p = 1/3, and K = 2 is
    // said to be too few.
    const test = await tid('eval-random-test').innerText();
    assert.match(test, /0 of 2 random masks of the same shape cut the behaviour at least as much as the mask; permutation p = 0\.333/);
    assert.match(test, /too few for a meaningful p: the smallest possible p is 1\/3 = 0\.333/);
    assert.equal(await tid('eval-random-p').innerText(), 'p = 0.333');

    // Dose chart: behaviour and benign accuracy at doses 0, 1, 2.
    assert.equal(await page.locator('[data-testid="eval-dose-curve"] circle').count(), 6);
    assert.match(await tid('eval-forced').innerText(), /Forcing the mask's experts on \(benign prompts\): accuracy \d+\.\d% → \d+\.\d% \([+−]\d+\.\d points\)/);

    // Every refused prompt flipped to answered.
    assert.match(await tid('eval-changed-count').innerText(), new RegExp(`^(\\d+) of ${targetPrompts + benignPrompts} prompts changed`));
    const changedRows = await page.locator('[data-testid="eval-changed"] tbody tr').allInnerTexts();
    assert.ok(changedRows.filter((r) => /refused/.test(r) && /refused[\s\S]*answered/.test(r)).length >= targetPrompts, `${changedRows.length} changed rows`);
    await shot('1-results');
  });

  it('exports rates with intervals and per-prompt outcomes as CSV, and the charts as PNG and SVG', { timeout: LONG }, async () => {
    const rates = await download('eval-export-rates-csv');
    assert.equal(rates.name, `evaluation-${firstId}-demo-heldout-rates.csv`);
    const lines = rates.bytes.toString('utf8').trim().split('\n');
    assert.equal(lines[0], 'condition,entries,measure,hits,n,rate,ci95_low,ci95_high');
    assert.match(lines.find((l) => l.startsWith('baseline,0,behaviour'))!, new RegExp(`,${targetPrompts},${targetPrompts},1,`));
    assert.match(lines.at(-1)!, /^random-mask test,\d+,permutation p \(random masks cutting at least as much\),0,2,0\.333/);
    const prompts = await download('eval-export-prompts-csv');
    assert.ok(prompts.bytes.toString('utf8').startsWith('index,class,prompt,answer,baseline_label,baseline_answer,masked_label,masked_answer,changed,baseline_output,masked_output\n'));

    const png = await download('eval-export-dose-png');
    assert.equal(png.name, `evaluation-${firstId}-demo-heldout-dose.png`);
    assert.deepEqual([...png.bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file');
    fs.writeFileSync(path.join(SHOTS, 'eval-export-dose.png'), png.bytes);
    const svg = (await download('eval-export-bars-svg')).bytes.toString('utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /Behaviour and accuracy — evaluation #\d+, demo-heldout/);
    assert.match(svg, /benign accuracy/);
    fs.writeFileSync(path.join(SHOTS, 'eval-export-bars.svg'), svg);
    const barsPng = await download('eval-export-bars-png');
    fs.writeFileSync(path.join(SHOTS, 'eval-export-bars.png'), barsPng.bytes);
  });

  it('keeps evaluations: a second one (K = 0, a stop string) is listed above the first, which can be shown again', { timeout: 120_000 }, async () => {
    await fill('eval-random', '0');
    await fill('eval-dose', '0');
    await fill('eval-stop', ' with that');
    await tid('eval-run').click();
    await page.locator('[data-testid="eval-list"] tbody tr').nth(1).waitFor({ timeout: 120_000 });
    assert.match(await tid('eval-random-test').innerText(), /no random masks \(K = 0\): no p-value/);
    assert.match(await tid('eval-meta').innerText(), /outputs end at <\|im_end\|>, " with that"/);
    // Refusals are cut before the stop string, and still read as refusals.
    const refusal = await page.locator('[data-testid="eval-changed"] tbody tr').first().innerText();
    assert.match(refusal, /refused\s+I won't help\s+answered/, refusal);
    const ids = await page.locator('[data-testid="eval-list"] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-evaluation')));
    assert.equal(ids.length, 2);
    assert.equal(ids[1], firstId);
    assert.match(await page.locator(`[data-evaluation="${ids[0]}"]`).innerText(), /100\.0%\s+0\.0%\s+—\s+\(0\)/);
    await page.locator(`[data-evaluation="${firstId}"]`).click();
    await page.getByTestId('eval-meta').filter({ hasText: `Evaluation #${firstId} ` }).waitFor();
    assert.equal(await tid('eval-random-p').innerText(), 'p = 0.333');
    await shot('2-list');

    // The run bundle carries the evaluation shown, whole.
    await tid('tab-export').click();
    assert.match(await tid('export-bundle-run').innerText(), new RegExp(`evaluation #${firstId} \\(the one shown in Evaluate`));
    const [file] = await Promise.all([page.waitForEvent('download', { timeout: 20_000 }), tid('export-bundle').click()]);
    const bundle = JSON.parse(fs.readFileSync((await file.path())!, 'utf8'));
    assert.deepEqual(bundle.evaluations.map((e: { evaluationId: number }) => e.evaluationId), [Number(firstId)]);
    assert.equal(bundle.evaluations[0].randomTest.p, 1 / 3);
    assert.equal(bundle.evaluations[0].prompts.length, targetPrompts + benignPrompts);
  });

  it('no errors in the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
