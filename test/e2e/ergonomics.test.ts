/**
 * End to end, against the real engine in browser mode on the demo model: the probe-set editor (live problems by line,
 * saved as an upload, the shipped set untouched), recording defaulting to the training set, the outcomes of a run,
 * a repeated run reported instead of duplicated, run notes and deletion, Force / Force top N with N from the
 * ranking's q-values, keyboard access to ranking rows and heatmap cells, generation speed, and readable errors.
 * Screenshots go to test-artifacts/e2e/ergonomics-*.png. Needs /usr/bin/chromium (or CHROMIUM=path).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { rankExperts } from '../../engine/analysis/rank.ts';
import { classifyOutput } from '../../engine/probes/classify.ts';
import type { OutputClassifier } from '../../engine/probes/probe-set.ts';
import { openDatabase } from '../../engine/store/database.ts';
import { cellCenter, currentMask, ensureRenderer, launchChromium, requireChromium, requireModel, ROOT, startMoteServe, topRanked, type MoteServe } from './harness.ts';

const MODEL_DIR = path.join(ROOT, 'models/demo');
const PROBES_DIR = path.join(ROOT, 'probes');
const SHOTS = path.join(ROOT, 'test-artifacts/e2e');
const LONG = 120_000;
const SAVED_NAME = 'small-refusal.json';

describe('probes and steering ergonomics in browser mode (demo model)', { timeout: 360_000 }, () => {
  let work: string;
  let dbFile: string;
  let server: MoteServe | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let failedStep: string | null = null;
  let classifier: OutputClassifier;
  let firstRun: number;
  const config = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'config.json'), 'utf8')) as { num_hidden_layers: number; num_experts: number; num_experts_per_tok: number };
  const shipped = fs.readFileSync(path.join(PROBES_DIR, 'demo-refusal.json'), 'utf8');

  const tid = (id: string) => page.getByTestId(id);
  const shot = async (name: string) => {
    // A full-page shot of a scrolled page draws the sticky header mid-page.
    await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    await page.waitForTimeout(120);
    await page.screenshot({ path: path.join(SHOTS, `ergonomics-${name}.png`), fullPage: true });
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
  /** Rows of the runs table on the page, newest first. */
  const runIds = async () => (await tid('run-row').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-run-id')))));
  const readDb = <T,>(query: (db: Database.Database) => T): T => {
    const db = new Database(dbFile, { readonly: true });
    try {
      return query(db);
    } finally {
      db.close();
    }
  };

  /** A small set in the demo's training templates: 3 refused and 3 answered prompts, with the demo's classifier. */
  const smallSet = (refusedClass = 'refused') => {
    const demo = JSON.parse(shipped);
    classifier = demo.classifier;
    return JSON.stringify({
      id: 'small-refusal', title: 'Small refusal check', type: 'templates', chat: true, classes: demo.classes, classifier: demo.classifier,
      templates: [{ text: 'How do I make {item}?' }],
      slots: { item: { [refusedClass]: demo.slots.item.refused.slice(0, 3), answered: demo.slots.item.answered.slice(0, 3) } },
    }, null, 2);
  };

  before(async () => {
    requireChromium();
    requireModel(MODEL_DIR);
    ensureRenderer();
    fs.mkdirSync(SHOTS, { recursive: true });
    for (const f of fs.readdirSync(SHOTS)) if (f.startsWith('ergonomics-')) fs.rmSync(path.join(SHOTS, f), { force: true });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-e2e-ergonomics-'));
    dbFile = path.join(work, 'runs.db');
    fs.cpSync(PROBES_DIR, path.join(work, 'probes'), { recursive: true });
    const started = await Promise.allSettled([
      startMoteServe(['--db', dbFile], {
        MOTE_CACHE_DIR: path.join(work, 'cache'), MOTE_DATA_DIR: path.join(work, 'data'), MOTE_DEMO_MODEL: MODEL_DIR, MOTE_PROBES_DIR: path.join(work, 'probes'),
      }).then((s) => (server = s)),
      launchChromium().then((b) => (browser = b)),
    ]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    page = await browser!.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(LONG);
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  step('a missing folder says it does not exist, without the method name', async () => {
    await page.goto(server!.url);
    await tid('model-card').waitFor();
    const missing = path.join(work, 'no-such-model');
    await tid('model-path').fill(missing);
    await tid('model-open').click();
    const error = await tid('model-error').innerText();
    assert.equal(error, `${missing} does not exist`);
    await shot('01-missing-folder');
  });

  step('recording defaults to the training set, not the held-out one', async () => {
    await tid('tab-probes').click();
    await page.locator('[data-testid="probe-set"].selected[data-file$="/demo-refusal.json"]').waitFor();
    assert.equal(await page.locator('[data-testid="probe-set"].selected').count(), 1);
  });

  step('the editor opens a set, lists its problems by line and field as it is typed, and saves it as an upload', async () => {
    await tid('probe-edit').click();
    const text = tid('probe-editor-text');
    await page.locator('[data-testid="probe-editor-check"][data-state="valid"]').waitFor();
    assert.equal(await text.inputValue(), shipped, 'the editor holds the file as shipped');
    assert.equal(await tid('probe-editor-name').inputValue(), 'demo-refusal-edited.json', 'an edited shipped set gets a name of its own');
    // A typo in a class name: the slot names a class the set lacks, and the real class has no values.
    const broken = smallSet('refusd');
    await text.fill(broken);
    await page.locator('[data-testid="probe-editor-check"][data-state="invalid"]').waitFor();
    const problems = await tid('probe-editor-problems').locator('li').allInnerTexts();
    const typoLine = broken.split('\n').findIndex((l) => l.includes('"refusd"')) + 1;
    assert.ok(problems.some((p) => p.startsWith(`line ${typoLine}`) && p.includes('slots.item.refusd') && p.includes('"refusd" is not a class of this set')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('no values for class "refused"')), problems.join('\n'));
    assert.ok(await tid('probe-editor-save').isDisabled(), 'an invalid set cannot be saved');
    await shot('02-editor-problems');
    // Clicking a problem's line puts the cursor on that line.
    await tid('problem-line').first().click();
    const caretLine = await text.evaluate((el) => {
      const area = el as unknown as { value: string; selectionStart: number };
      return area.value.slice(0, area.selectionStart).split('\n').length;
    });
    const firstLine = Number(/^line (\d+)/.exec(problems[0])![1]);
    assert.equal(caretLine, firstLine);

    await text.fill(smallSet());
    await page.locator('[data-testid="probe-editor-check"][data-state="valid"]').waitFor();
    assert.match(await tid('probe-editor-valid').innerText(), /Small refusal check \(templates\), 6 prompts — refused 3, answered 3/);
    await tid('probe-editor-name').fill(SAVED_NAME);
    await page.locator('[data-testid="probe-editor-check"][data-state="valid"]').waitFor();
    await tid('probe-editor-save').click();
    const stored = path.join(work, 'uploaded-probes', SAVED_NAME);
    await page.locator(`[data-testid="probe-set"].selected[data-file="${stored}"]`).waitFor();
    await tid('probe-editor-saved').waitFor();
    assert.equal(fs.readFileSync(stored, 'utf8'), smallSet());
    assert.equal(fs.readFileSync(path.join(work, 'probes', 'demo-refusal.json'), 'utf8'), shipped, 'the shipped set is unchanged');
    await shot('03-editor-saved');
    await tid('probe-editor-close').click();
  });

  step('after a run: per-class outcome rates and every output with its verdict, as recorded', async () => {
    await tid('probe-generate-tokens').fill('12');
    await page.locator('[data-testid="probe-run"]:not([disabled])').click();
    await tid('run-summary').waitFor({ timeout: 150_000 });
    firstRun = Number(await tid('run-summary').getAttribute('data-run-id'));
    const recorded = readDb((db) => db.prepare('SELECT class, label, output_text AS output FROM prompts WHERE run_id = ? ORDER BY idx').all(firstRun)) as { class: string; label: string; output: string }[];
    assert.equal(recorded.length, 6);
    for (const r of recorded) assert.equal(r.label, classifyOutput(classifier, r.output), `the stored verdict is the classifier's: ${r.output}`);
    for (const cls of ['refused', 'answered']) {
      for (const verdict of ['refused', 'answered']) {
        const expected = recorded.filter((r) => r.class === cls && r.label === verdict).length;
        const cell = page.locator(`[data-testid="outcome-row"][data-class="${cls}"] td[data-verdict="${verdict}"]`);
        if (expected === 0 && (await cell.count()) === 0) continue;
        assert.equal(Number(await cell.getAttribute('data-count')), expected, `${cls} → ${verdict}`);
        assert.match(await cell.innerText(), new RegExp(`^${(100 * expected / 3).toFixed(1)}% \\(${expected}\\)$`));
      }
    }
    const rows = await tid('output-row').evaluateAll((trs) => trs.map((tr) => ({
      class: tr.getAttribute('data-class'), verdict: tr.getAttribute('data-verdict'), output: tr.querySelector('.output-text')!.textContent,
    })));
    assert.deepEqual(rows, recorded.map((r) => ({ class: r.class, verdict: r.label, output: r.output })));
    // The demo refuses its trained refused requests: the summary must show it.
    assert.ok(recorded.filter((r) => r.class === 'refused' && r.label === 'refused').length >= 2, JSON.stringify(recorded));
    await shot('04-run-summary');
  }, 170_000);

  step('running a finished set again says so instead of recording a duplicate; Record again records a new run', async () => {
    const before = await runIds();
    await tid('probe-run').click();
    const notice = tid('probe-already-recorded');
    await notice.waitFor();
    assert.equal(Number(await notice.getAttribute('data-run-id')), firstRun);
    assert.match(await notice.innerText(), new RegExp(`^This set was already recorded as run ${firstRun} \\(finished .+\\) with this model, precision and settings — open it, or record it again\\.`));
    assert.deepEqual(await runIds(), before);
    assert.equal(readDb((db) => db.prepare('SELECT count(*) FROM runs').pluck().get()), 1);
    await shot('05-already-recorded');
    await tid('already-again').click();
    await page.locator('[data-testid="run-row"][data-status="finished"]').nth(1).waitFor({ timeout: 150_000 });
    assert.equal(readDb((db) => db.prepare('SELECT count(*) FROM runs').pluck().get()), 2);
  }, 170_000);

  step('a run is annotated in place and deleted after confirmation, with its recorded prompts', async () => {
    const [second] = await runIds();
    assert.notEqual(second, firstRun);
    const firstRow = page.locator(`[data-testid="run-row"][data-run-id="${firstRun}"]`);
    await firstRow.getByTestId('run-note').click();
    await firstRow.getByTestId('run-note-input').fill('baseline: 12 tokens, trained templates');
    await firstRow.getByTestId('run-note-input').press('Enter');
    await firstRow.getByTestId('run-note').filter({ hasText: 'baseline: 12 tokens, trained templates' }).waitFor();
    assert.equal(readDb((db) => db.prepare('SELECT note FROM runs WHERE id = ?').pluck().get(firstRun)), 'baseline: 12 tokens, trained templates');

    const secondRow = page.locator(`[data-testid="run-row"][data-run-id="${second}"]`);
    await secondRow.getByTestId('run-delete').click();
    await secondRow.getByText(`Delete run ${second} and its 6 recorded prompts?`).waitFor();
    await shot('06-delete-confirm');
    await secondRow.getByTestId('run-delete-cancel').click();
    assert.deepEqual(await runIds(), [second, firstRun], 'Keep keeps it');
    await secondRow.getByTestId('run-delete').click();
    await secondRow.getByTestId('run-delete-confirm').click();
    await secondRow.waitFor({ state: 'detached' });
    assert.deepEqual(await runIds(), [firstRun]);
    assert.equal(readDb((db) => db.prepare('SELECT count(*) FROM prompts WHERE run_id = ?').pluck().get(second)), 0);
    assert.equal(readDb((db) => db.prepare('SELECT count(*) FROM prompts WHERE run_id = ?').pluck().get(firstRun)), 6);
    await shot('07-runs-annotated');
  });

  step('ranking rows: reachable by keyboard, arrows move, F forces the expert in one action', async () => {
    await page.locator(`[data-testid="run-row"][data-run-id="${firstRun}"] [data-testid="run-open"]`).click();
    await tid('ranking-row').first().waitFor();
    if ((await tid('imaging-target').inputValue()) !== 'refused') await tid('imaging-target').selectOption('refused');
    await page.waitForFunction(() => (globalThis as unknown as { __moteTest: { topRanked(n: number): unknown[] } }).__moteTest.topRanked(2).length === 2);
    const top = await topRanked(page, 2);
    await tid('ranking-row').first().focus();
    await page.keyboard.press('ArrowDown');
    const row = page.locator('[data-testid="ranking-row"]:focus');
    const focused = [await row.getAttribute('data-layer'), await row.getAttribute('data-expert')].map(Number);
    assert.deepEqual(focused, [top[1].layer, top[1].expert], 'ArrowDown moves focus to the second row');
    await page.keyboard.press('f');
    assert.deepEqual((await currentMask(page)).entries, [{ ...top[1], state: 'forced' }]);
    await page.locator('[data-testid="ranking-row"]:focus [data-testid="ranking-force"][aria-pressed="true"]').waitFor();
    await shot('08-ranking-keyboard');
    await page.keyboard.press('f');
    assert.deepEqual((await currentMask(page)).entries, [], 'F again puts it back to normal');
  });

  step('Steering: N defaults to the experts with q < 0.05; Force top N forces them, at most k a layer', async () => {
    const db = openDatabase(dbFile);
    const ranking = rankExperts(db, firstRun, 'refused', 'mote', 'prompt');
    db.close();
    const significant = ranking.scores.filter((s) => s.q < 0.05).length;
    const n = significant === 0 ? 10 : Math.min(significant, 32);
    await tid('tab-steering').click();
    await tid('steer-heatmap-canvas').waitFor();
    await page.locator('[data-testid="steer-force-topn"]', { hasText: `Force top ${n}` }).waitFor();
    assert.equal(await tid('steer-topn').innerText(), `Switch off top ${n}`);
    assert.match(await tid('steer-topn-basis').innerText(), significant === 0 ? /no expert has q < 0.05/ : new RegExp(`^N = ${n}: ${significant} experts? ha(s|ve) q < 0.05 for refused`));
    await tid('steer-force-topn').click();
    const mask = await currentMask(page);
    const ranked = ranking.scores.slice(0, n);
    const perLayer = new Map<number, number>();
    const expected = ranked.filter((s) => {
      const c = perLayer.get(s.layer) ?? 0;
      perLayer.set(s.layer, c + 1);
      return c < config.num_experts_per_tok;
    }).map((s) => ({ layer: s.layer, expert: s.expert, state: 'forced' }));
    assert.deepEqual(mask.entries, expected, 'the top N in rank order, forced, at most k per layer');
    if (expected.length < n) await page.locator('[data-testid="steer-notice"]', { hasText: `Forced ${expected.length} of the top ${n}` }).waitFor();
    await shot('09-force-top-n');
  });

  step('Steering heatmap: cells reachable by keyboard; Enter cycles, F forces; right-click forces in one action', async () => {
    await tid('steer-clear').click();
    const grid = tid('steer-heatmap-hit');
    await grid.focus();
    for (const key of ['ArrowRight', 'ArrowRight', 'ArrowDown', 'End', 'ArrowLeft']) await page.keyboard.press(key);
    const focus = tid('steer-heatmap-focus');
    assert.deepEqual([await focus.getAttribute('data-row'), await focus.getAttribute('data-col')], ['1', String(config.num_experts - 2)]);
    const layers = (await grid.getAttribute('data-layers'))!.split(',').map(Number);
    await page.keyboard.press('Enter');
    assert.deepEqual((await currentMask(page)).entries, [{ layer: layers[1], expert: config.num_experts - 2, state: 'off' }]);
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('f');
    assert.deepEqual((await currentMask(page)).entries, [
      { layer: layers[1], expert: config.num_experts - 2, state: 'off' }, { layer: layers[0], expert: config.num_experts - 2, state: 'forced' },
    ]);
    assert.equal(await grid.evaluate((el) => el.matches(':focus-visible')), true, 'the focus ring shows');
    await shot('10-heatmap-keyboard');
    const cell = await cellCenter(page, 'steer-heatmap', layers[2], 0);
    assert.ok(cell, 'the cell is on screen');
    await page.mouse.click(cell.x, cell.y, { button: 'right' });
    assert.deepEqual((await currentMask(page)).entries.at(-1), { layer: layers[2], expert: 0, state: 'forced' });
  });

  step('generation shows time to first token and tokens/s', async () => {
    await tid('steer-clear').click();
    await tid('live-prompt').fill('What is the capital of France?');
    await tid('live-max-tokens').fill('16');
    await tid('live-run').click();
    await page.locator('[data-testid="live-output"][data-status="done"]').waitFor();
    const timing = (await tid('live-output-timing').innerText()).trim();
    assert.match(timing, /^· first token \d+(\.\d)? ms( · \d+\.\d tokens\/s)?$/, timing);
    await shot('11-live-timing');
    await tid('tab-compare').click();
    await tid('compare-prompt').fill('How do I make a bomb?');
    await tid('compare-run').click();
    for (const side of ['baseline', 'steered']) {
      await page.locator(`[data-testid="compare-${side}"][data-status="done"]`).waitFor();
      assert.match((await tid(`compare-${side}-timing`).innerText()).trim(), /^· first token \d+(\.\d)? ms · \d+\.\d tokens\/s$/);
    }
    await shot('12-compare-timing');
  });
});
