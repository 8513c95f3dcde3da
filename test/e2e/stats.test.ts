/**
 * End to end, against the real engine on the demo model: the statistics a researcher reads. A probe set the demo
 * tokenizer mostly cannot read is flagged; a noise run (two classes from one pool of questions) shows a faded
 * heatmap and a signal run (demo-refusal) a bright one, cell for cell as `mote rank` computes q on the same
 * database; q-values read as the CLI writes them; a shared colour range makes noise look as weak as it is; a
 * top-N cut through tied experts is reported and can include them; the drill-down shows prompts with their spaces.
 * Screenshots: test-artifacts/e2e/stats-*.png.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { expandProbeSet } from '../../engine/probes/expand.ts';
import { loadProbeSet } from '../../engine/probes/load-probe-set.ts';
import type { ExpertScore } from '../../engine/protocol/types.ts';
import { cellCenter, ensureRenderer, launchChromium, requireChromium, requireModel, ROOT, startMoteServe, topRanked, type MoteServe } from './harness.ts';

const MODEL_DIR = path.join(ROOT, 'models/demo');
const SHOTS = path.join(ROOT, 'test-artifacts/e2e');
const LONG = 120_000;
const NOISE = {
  id: 'noise', title: 'Noise: two classes from one pool of questions', type: 'templates', chat: true,
  classes: [{ id: 'a' }, { id: 'b' }],
  templates: [{ text: '{q}' }],
  slots: { q: {
    a: ['What is the capital of France?', 'How many legs does a dog have?', 'What colour is the sky?', 'What is 2 plus 3?', 'What sound does a cow make?', 'How do I make bread?',
      'Tell me the capital of Japan.', 'What colour is grass?', 'How many legs does a spider have?', 'What is 4 plus 4?', 'How can I build a kite?', 'What sound does a duck make?'],
    b: ['What is the capital of Egypt?', 'How many legs does an ant have?', 'What colour is a banana?', 'What is 6 plus 1?', 'What sound does a cat make?', 'How do I make tea?',
      'Tell me the capital of Canada.', 'What colour is coal?', 'How many legs does a chicken have?', 'What is 5 plus 7?', 'How can I build a fence?', 'What sound does a pig make?'],
  } },
};

describe('statistics in the UI against the real engine (demo model)', { timeout: 300_000 }, () => {
  let work: string;
  let db: string;
  let server: MoteServe | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let failedStep: string | null = null;
  const pageErrors: string[] = [];
  const tid = (id: string) => page.getByTestId(id);
  const shot = async (name: string) => {
    await page.mouse.move(2, 2);
    await page.waitForTimeout(120);
    await page.screenshot({ path: path.join(SHOTS, `stats-${name}.png`), fullPage: true });
  };
  const step = (name: string, fn: () => Promise<void>, timeout = LONG) =>
    it(name, { timeout }, async () => {
      if (failedStep) assert.fail(`not run: an earlier step failed (${failedStep})`);
      try {
        await fn();
      } catch (err) {
        failedStep = name;
        if (page) await shot(`failed-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}`).catch(() => undefined);
        throw new Error(`${(err as Error).message}\n--- mote serve stderr (tail) ---\n${server?.log().slice(-3000) ?? ''}`, { cause: err });
      }
    });
  /** `mote rank` on the server's database: the independent reading of the same run. */
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/mote.js'), 'rank', '--db', db, ...args], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const cliScores = (run: number, target: string): ExpertScore[] => JSON.parse(cli('--run', String(run), '--target', target, '--top', '100000', '--json')).scores;
  const canvas = () => tid('heatmap-canvas');
  const dimmedCells = async () => Number(await canvas().getAttribute('data-dimmed'));
  const domain = async () => (await canvas().getAttribute('data-domain'))!.split(',').map(Number);

  async function runSet(file: string): Promise<number> {
    await tid('tab-probes').click();
    await page.locator(`[data-testid="probe-set"][data-file$="/${file}"]`).click();
    await page.locator('[data-testid="probe-run"]:not([disabled])').waitFor();
    await tid('probe-generate-tokens').fill('0');
    const before = await tid('run-row').count();
    await tid('probe-run').click();
    await page.locator('[data-testid="run-row"][data-status="finished"]').nth(before).waitFor({ timeout: LONG });
    return Math.max(...(await tid('run-row').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-run-id'))))));
  }

  async function showRun(run: number, target: string) {
    await tid('tab-imaging').click();
    await tid('imaging-run').selectOption(String(run));
    await tid('imaging-target').selectOption(target);
    await page.locator('[data-testid="heatmap-legend"]', { hasText: `target ${target}` }).waitFor();
    await page.locator('[data-testid="heatmap-canvas"]:not([data-cells="0"])').waitFor();
  }

  before(async () => {
    requireChromium();
    requireModel(MODEL_DIR);
    ensureRenderer();
    fs.mkdirSync(SHOTS, { recursive: true });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-e2e-stats-'));
    db = path.join(work, 'runs.db');
    const probes = path.join(work, 'probes');
    fs.mkdirSync(probes);
    for (const f of ['demo-refusal.json', 'what-happened.json']) fs.copyFileSync(path.join(ROOT, 'probes', f), path.join(probes, f));
    fs.writeFileSync(path.join(probes, 'noise.json'), JSON.stringify(NOISE));
    const started = await Promise.allSettled([
      startMoteServe(['--db', db], {
        MOTE_CACHE_DIR: path.join(work, 'cache'), MOTE_DATA_DIR: path.join(work, 'data'), MOTE_DEMO_MODEL: MODEL_DIR, MOTE_PROBES_DIR: probes,
      }).then((s) => (server = s)),
      launchChromium().then((b) => (browser = b)),
    ]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    page = await browser!.newPage({ viewport: { width: 1440, height: 900 } });
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

  let noiseRun: number;
  let signalRun: number;

  step('Probes: a set mostly unknown to the demo tokenizer is flagged before it runs', async () => {
    await page.goto(server!.url);
    await page.locator('[data-testid="model-badge"]', { hasText: 'demo' }).waitFor();
    await tid('tab-probes').click();
    await page.locator('[data-testid="probe-set"][data-file$="/what-happened.json"]').click();
    const warning = await tid('probe-unknown-tokens').innerText();
    assert.match(warning, /^\d+ of \d+ tokens of this set \(in 24 of 24 prompts\) are unknown \(<unk>\) to the demo model's tokenizer: .*e\.g\. .*"Tiananmen"/, warning);
    const [unknown, total] = warning.match(/^(\d+) of (\d+)/)!.slice(1).map(Number);
    assert.ok(unknown / total > 0.5, warning);
    await shot('unknown-tokens');
    await page.locator('[data-testid="probe-set"][data-file$="/demo-refusal.json"]').click();
    await page.locator('.view-probes h2', { hasText: 'Demo model' }).waitFor();
    assert.equal(await tid('probe-unknown-tokens').count(), 0, 'the demo world set reads fine');
  });

  step('Probes: record a noise run and a signal run', async () => {
    noiseRun = await runSet('noise.json');
    signalRun = await runSet('demo-refusal.json');
    assert.notEqual(noiseRun, signalRun);
  }, 200_000);

  step('Imaging: the noise run is faded where mote rank finds q ≥ 0.05 — everywhere', async () => {
    await showRun(noiseRun, 'a');
    const scores = cliScores(noiseRun, 'a');
    const cells = Number(await canvas().getAttribute('data-cells'));
    assert.equal(cells, scores.length);
    assert.equal(await dimmedCells(), scores.filter((s) => s.q >= 0.05).length);
    assert.equal(await dimmedCells(), cells, 'no cell of a noise run is significant');
    assert.match(await tid('heatmap-dim-note').innerText(), /faded: q ≥ 0\.05 \(Benjamini–Hochberg\), not significant/);
    const own = Math.max(...scores.map((s) => Math.abs(s.score)));
    assert.deepEqual(await domain(), [-own, own], 'per map: the range is the noise map\'s own largest |score|');
    await shot('noise-faded');
    await tid('imaging-dim').uncheck();
    await page.locator('[data-testid="heatmap-canvas"][data-dimmed="0"]').waitFor();
    assert.equal(await tid('heatmap-dim-note').count(), 0);
    await shot('noise-not-faded');
    await tid('imaging-dim').check();
    await page.locator(`[data-testid="heatmap-canvas"][data-dimmed="${cells}"]`).waitFor();
  });

  step('Imaging: a shared colour range spans the signal run too, so noise looks weak', async () => {
    await tid('imaging-scale').getByText('shared').click();
    const noise = cliScores(noiseRun, 'a');
    const signal = cliScores(signalRun, 'refused');
    const shared = Math.max(...[...noise, ...signal].map((s) => Math.abs(s.score)));
    await page.locator(`[data-testid="heatmap-canvas"][data-domain="${-shared},${shared}"]`).waitFor();
    assert.ok(shared > 4 * Math.max(...noise.map((s) => Math.abs(s.score))), `signal ${shared} dwarfs noise`);
    assert.match(await tid('heatmap-legend').innerText(), /range shared by all runs/);
    await shot('noise-shared-scale');
  });

  step('Imaging: the signal run keeps its significant cells bright; q reads as mote rank writes it', async () => {
    await showRun(signalRun, 'refused');
    const scores = cliScores(signalRun, 'refused');
    const dimmed = await dimmedCells();
    assert.equal(dimmed, scores.filter((s) => s.q >= 0.05).length);
    assert.ok(dimmed < scores.length, 'some experts are significant');
    const table = cli('--run', String(signalRun), '--target', 'refused', '--top', '20').split('\n').filter((l) => /^\d+=?\t/.test(l)).map((l) => l.split('\t'));
    const rows = tid('ranking-row');
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-layer'), tr.getAttribute('data-expert')])), table.map((r) => [r[1], r[2]]));
    assert.deepEqual(await tid('ranking-q').allInnerTexts(), table.map((r) => r[7]), 'q as the CLI prints it');
    assert.ok(table.some((r) => /e-\d{2,}$/.test(r[7])), `tiny q-values are shown, not clamped: ${table.map((r) => r[7]).join(' ')}`);
    await shot('signal');
    const at = (await cellCenter(page, 'heatmap', Number(table[0][1]), Number(table[0][2])))!;
    await page.mouse.move(at.x, at.y);
    const tooltip = page.locator('.heatmap-panel .tooltip');
    await tooltip.waitFor();
    const text = await tooltip.innerText();
    assert.ok(text.includes(table[0][7]) && text.includes('significant: q < 0.05'), text);
    await page.screenshot({ path: path.join(SHOTS, 'stats-signal-tooltip.png'), fullPage: true });
  });

  step('Imaging: the drill-down shows prompts as the tokenizer decodes them, spaces included', async () => {
    const [top] = await topRanked(page, 1);
    await page.locator('[data-testid="ranking-row"]').first().click();
    await page.locator('[data-testid="expert-prompts"] h3', { hasText: `Layer ${top.layer} · expert ${top.expert}` }).waitFor();
    await tid('expert-prompt').first().waitFor();
    const texts = await page.locator('[data-testid="expert-prompt"] .token-text').allInnerTexts();
    const prompts = expandProbeSet(loadProbeSet(path.join(ROOT, 'probes/demo-refusal.json'))).map((p) => p.text);
    for (const text of texts) assert.ok(prompts.some((p) => text.includes(p)), `the prompt reads as written: ${JSON.stringify(text)}`);
    await shot('drilldown');
  });

  step('Steering: a top-N cut through tied experts says so; "include ties" takes them all', async () => {
    await showRun(noiseRun, 'a');
    await tid('imaging-scale').getByText('per map').click();
    const scores = cliScores(noiseRun, 'a');
    // The first rank more than one expert shares (experts routed to by neither class tie at 0).
    const tied = scores.find((s, i) => scores[i + 1]?.rank === s.rank)!;
    assert.ok(tied, 'the noise run has tied experts');
    const size = scores.filter((s) => s.rank === tied.rank).length;
    const n = tied.rank;
    await tid('tab-steering').click();
    await page.locator(`[data-testid="steer-heatmap-canvas"][data-dimmed="${scores.length}"]`).waitFor();
    assert.match(await tid('steer-dim-note').innerText(), /faded: q ≥ 0\.05/);
    await tid('steer-topn-count').fill(String(n));
    await tid('steer-topn').click();
    const notice = await tid('steer-notice').innerText();
    assert.equal(notice, `${size} experts tie at rank ${tied.rank} (score 0.000); ${size - 1} of them were left out by the cut ` +
      '(tied experts are listed by smaller p first, then lower layer, then lower expert) — tick “include ties” to include them');
    assert.equal(cli('--run', String(noiseRun), '--target', 'a', '--top', String(n)).includes(`${size} experts tie at rank ${tied.rank}`), true, 'the CLI reports the same tie');
    await shot('steering-tie-cut');
    await tid('steer-include-ties').check();
    await tid('steer-topn').click();
    await page.locator('[data-testid="mask-summary"]', { hasText: `${n - 1 + size} off` }).waitFor();
    assert.match(await tid('steer-notice').innerText(), new RegExp(`all are included \\(the cut was widened from ${n} to ${n - 1 + size}\\)`));
    await shot('steering-ties-included');
    assert.deepEqual(pageErrors, []);
  });
});
