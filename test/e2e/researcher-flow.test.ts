/**
 * End to end, against the real engine: `mote serve` in browser mode on the embedded demo model (models/demo), driven
 * in headless Chromium through the researcher's flow — see the memory estimate and reopen the demo model at int8, load
 * a probe set from a file (and have a broken one refused), run the demo probe set (recorded at int8), find the planted
 * experts in Imaging,
 * switch the top P off in Steering, see the refusal go away in Compare, export the mask and import it again.
 * A screenshot per step goes to test-artifacts/e2e/researcher-flow/ (gitignored; other e2e tests write beside it).
 *
 * Needs /usr/bin/chromium (`apt-get install chromium`; or CHROMIUM=path). Builds dist/renderer when it is missing.
 * MOTE_E2E_MODEL / MOTE_E2E_PROBES point it at another checkpoint (with planted-experts.json) and probe folder
 * (with demo-refusal.json and demo-heldout.json) while developing; by default models/demo and probes/.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { loadTokenizer } from '../../engine/model/tokenizer.ts';
import { classifyOutput } from '../../engine/probes/classify.ts';
import { expandProbeSet } from '../../engine/probes/expand.ts';
import { loadProbeSet } from '../../engine/probes/load-probe-set.ts';
import type { ExpertMask } from '../../engine/protocol/types.ts';
import { cellCenter, currentMask, ensureRenderer, launchChromium, requireChromium, requireModel, ROOT, startMoteServe, topRanked, type MoteServe } from './harness.ts';

const MODEL_DIR = path.resolve(process.env.MOTE_E2E_MODEL ?? path.join(ROOT, 'models/demo'));
const PROBES_DIR = path.resolve(process.env.MOTE_E2E_PROBES ?? path.join(ROOT, 'probes'));
const SHOTS = path.join(ROOT, 'test-artifacts/e2e/researcher-flow');
/** Generous: the whole file stays under 3 minutes on 2 cores, but a loaded CI machine can be slow. */
const LONG = 120_000;
const TOO_LONG_FILE = 'too-long-for-the-model.json';
const UPLOAD_FILE = 'greetings.yaml';

describe('researcher flow in browser mode against the real engine (demo model)', { timeout: 240_000 }, () => {
  let work: string;
  let server: MoteServe | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  let planted: { layer: number; expert: number }[];
  let P: number;
  let config: { model_type: string; num_hidden_layers: number; num_experts: number; num_experts_per_tok: number; max_position_embeddings: number };
  let maskBefore: ExpertMask;
  let exportedFile: string;
  let failedStep: string | null = null;

  const tid = (id: string) => page.getByTestId(id);
  const shot = async (name: string) => {
    await page.mouse.move(2, 2);
    await page.waitForTimeout(120);
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  };
  /** A test step; once one fails the later ones fail at once (they build on each other); failures leave a screenshot. */
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

  before(async () => {
    requireChromium();
    requireModel(MODEL_DIR);
    for (const f of ['demo-refusal.json', 'demo-heldout.json']) {
      if (!fs.existsSync(path.join(PROBES_DIR, f))) throw new Error(`no ${f} in ${PROBES_DIR}: it is written with the demo model by tools/train-demo/train.py`);
    }
    const truth = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'planted-experts.json'), 'utf8'));
    planted = truth.planted;
    assert.ok(Array.isArray(planted) && planted.length > 0,
      `${MODEL_DIR}/planted-experts.json: expected {"planted": [{"layer", "expert"}, …]}, found the keys ${Object.keys(truth).join(', ')}`);
    P = planted.length;
    config = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'config.json'), 'utf8'));
    ensureRenderer();
    fs.mkdirSync(SHOTS, { recursive: true });
    // Only this test's own shots (numbered, or failed-*): other e2e tests write theirs under their own names.
    for (const f of fs.readdirSync(SHOTS)) if (/^(\d\d[a-z]?-|failed-)/.test(f)) fs.rmSync(path.join(SHOTS, f), { recursive: true, force: true });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-e2e-'));
    // The probe folder as shipped, plus a set with one prompt past the demo model's context.
    const probes = path.join(work, 'probes');
    fs.cpSync(PROBES_DIR, probes, { recursive: true });
    fs.writeFileSync(path.join(probes, TOO_LONG_FILE), JSON.stringify({
      id: 'too-long', title: 'Too long for the model', type: 'templates', classes: [{ id: 'a' }],
      templates: [{ text: '{x}' }], slots: { x: ['What is the capital of France?', 'France '.repeat(config.max_position_embeddings)] },
    }));
    // Both started at once; each kept as soon as it is up, so `after` stops whatever did start.
    const started = await Promise.allSettled([
      startMoteServe(['--db', path.join(work, 'runs.db')], {
        MOTE_CACHE_DIR: path.join(work, 'cache'),
        MOTE_DATA_DIR: path.join(work, 'data'),
        MOTE_DEMO_MODEL: MODEL_DIR,
        MOTE_PROBES_DIR: path.join(work, 'probes'),
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
    // Chromium logs CSP refusals as console errors too; this names the directive whatever the wording.
    await page.addInitScript(() => {
      (globalThis as unknown as { addEventListener(type: string, cb: (e: { violatedDirective: string; blockedURI: string }) => void): void })
        .addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} refused ${e.blockedURI}`));
    });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  step('browser mode refuses requests without the access token', async () => {
    const get = (urlPath: string) =>
      new Promise<number>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: server!.port, path: urlPath }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        }).on('error', reject);
      });
    assert.equal(await get('/'), 401, 'GET / without a token');
    assert.equal(await get('/index.html?token=wrong'), 401, 'GET with a wrong token');
    assert.equal(await get(`/?token=${server!.token}`), 200, 'GET / with the token (the refusals above are not an accident)');
    const upgrade = (url: string) =>
      new Promise<number | 'open'>((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.once('open', () => (ws.terminate(), resolve('open')));
        ws.once('unexpected-response', (_req, res) => (res.resume(), resolve(res.statusCode!)));
        ws.once('error', reject);
      });
    assert.equal(await upgrade(`ws://127.0.0.1:${server!.port}/ws`), 401, 'WebSocket to /ws without a token');
    assert.equal(await upgrade(`ws://127.0.0.1:${server!.port}/ws?token=${'0'.repeat(server!.token.length)}`), 401, 'WebSocket with a wrong token');
  });

  step('the UI opens the demo model', async () => {
    await page.goto(server!.url);
    await tid('model-card').waitFor();
    const card = await tid('model-card').innerText();
    assert.match(card, /demo model/, 'the model card says it is the demo model');
    assert.ok(card.includes(MODEL_DIR), `the model card names ${MODEL_DIR}`);
    await shot('01-model');
  });

  step('Model: the memory estimate shows before opening; opened at int8, the card and header say int8', async () => {
    // With no folder typed, the estimate is the demo model's: every precision, its total, and what auto picks.
    const estimate = page.locator('[data-testid="model-estimate"]:not(.loading)');
    await estimate.waitFor();
    const summary = await tid('model-estimate-summary').innerText();
    assert.match(summary, new RegExp(`^Memory estimate for the demo model \\(${config.model_type}\\) at a context of ${config.max_position_embeddings} tokens · [0-9.]+ [KMGT]iB available · auto picks (f32|int8|int4)$`), summary);
    const rows = tid('model-estimate-row');
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-precision'))), ['f32', 'int8', 'int4']);
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-fits'))), ['true', 'true', 'true'], 'the tiny demo model fits at every precision');
    for (const text of await rows.allInnerTexts()) assert.match(text, /^(f32|int8|int4)( auto)?(\s+[0-9.]+ (B|KiB|MiB|GiB)){4}\s+fits$/, text);
    await tid('model-precision-int8').click();
    assert.match(await tid('model-precision-hint').innerText(), /^int8: routed experts quantised/);
    await page.locator('[data-testid="model-estimate-row"][data-precision="int8"].chosen').waitFor();
    await shot('01b-model-estimate');
    await tid('model-open-demo').click();
    await page.locator('[data-testid="model-card"][data-precision="int8"]').waitFor();
    assert.equal(await tid('model-card-precision').innerText(), 'int8\nprecision');
    assert.match(await tid('model-card-memory').innerText(), new RegExp(`^[0-9.]+ [KMG]iB\nmemory \\(estimate, context ${config.max_position_embeddings}\\)$`));
    assert.match(await tid('model-card').innerText(), /Precision\s+int8: routed experts quantised/);
    assert.match(await tid('model-badge').innerText(), new RegExp(`^${config.model_type} · \\d+×${config.num_experts} · k ${config.num_experts_per_tok} · int8 · demo`));
    await shot('01c-model-int8');
  });

  step('Probes: token counts under the model; a set with a prompt past its context cannot start', async () => {
    await tid('tab-probes').click();
    await page.locator(`[data-testid="probe-set"][data-file$="/${TOO_LONG_FILE}"]`).click();
    const warning = await tid('probe-too-long').innerText();
    assert.match(warning, new RegExp(`^1 of 2 prompts are longer than the model's context of ${config.max_position_embeddings} tokens`));
    assert.ok(await tid('probe-run').isDisabled(), 'Run is disabled');
    const counts = await page.locator('[data-testid="probe-prompts"] tbody tr td:nth-child(3)').allInnerTexts();
    const tokenizer = await loadTokenizer(MODEL_DIR, config as unknown as Record<string, unknown>);
    const set = loadProbeSet(path.join(work, 'probes', TOO_LONG_FILE));
    assert.deepEqual(counts.map(Number), expandProbeSet(set).map((p) =>
      tokenizer.encode(tokenizer.applyChatTemplate([{ role: 'user', content: p.text }], { addGenerationPrompt: true }), { addSpecialTokens: false }).length));
    assert.ok(counts.map(Number)[1] > config.max_position_embeddings);
    await page.locator('[data-testid="probe-prompts"] tbody tr td.over-context').waitFor();
    await shot('02a-probes-too-long');
  });

  step('Probes: a probe set loaded from a file is checked, stored with the uploads, listed, selected and expanded', async () => {
    // Picked from a folder the engine does not read: it gets the text only.
    const picked = path.join(work, 'picked');
    fs.mkdirSync(picked, { recursive: true });
    const file = path.join(picked, UPLOAD_FILE);
    const text = [
      '# A small set from the researcher\'s machine', 'id: uploaded-greetings', 'title: Greetings and farewells (uploaded)', 'type: templates',
      'classes:', '  - id: greeting', '  - id: farewell', 'templates:', '  - text: "Say {word} to me."', 'slots:', '  word:',
      '    greeting: [hello, good morning]', '    farewell: [goodbye]', '',
    ].join('\n');
    fs.writeFileSync(file, text);
    await tid('tab-probes').click();
    await tid('probes-upload').setInputFiles(file);
    const stored = path.join(work, 'uploaded-probes', UPLOAD_FILE);
    await page.locator(`[data-testid="probe-set"].selected[data-file="${stored}"]`).waitFor();
    await page.locator('.view-probes h2', { hasText: 'Greetings and farewells (uploaded)' }).waitFor();
    assert.equal(fs.readFileSync(stored, 'utf8'), text, 'the engine stored the text as sent');
    const listed = await tid('probe-sets').locator('li').evaluateAll((lis) =>
      lis.map((li) => li.querySelector('[data-file]')?.getAttribute('data-file') ?? li.getAttribute('data-file')));
    assert.equal(listed.at(-1), stored, `the upload is listed after the probes folder's sets: ${JSON.stringify(listed)}`);
    const rows = page.locator('[data-testid="probe-prompts"] tbody tr');
    const expected = expandProbeSet(loadProbeSet(file));
    assert.deepEqual(await rows.locator('td:nth-child(4) .clamp-3').allInnerTexts(), expected.map((p) => p.text));
    assert.deepEqual(await rows.locator('.class-chip').allInnerTexts(), ['greeting', 'greeting', 'farewell']);
    assert.ok((await rows.locator('td:nth-child(3)').allInnerTexts()).every((t) => Number(t) > 0), 'token counts under the model');
    assert.equal(await tid('probes-upload-error').count(), 0);
    await page.locator('[data-testid="probe-run"]:not([disabled])').waitFor();
    await shot('02b-probes-uploaded');
    // Evaluate lists the same sets, so the upload can be picked there too.
    await tid('tab-evaluate').click();
    assert.ok((await tid('eval-set').locator('option').evaluateAll((os) => os.map((o) => o.getAttribute('value')))).includes(stored));
    await tid('tab-probes').click();
  });

  step('Probes: a file that is not a valid probe set is refused with errors naming it and their lines', async () => {
    const picked = path.join(work, 'picked');
    const bad = path.join(picked, 'broken-set.yaml');
    // Line 6: a class without an id.
    fs.writeFileSync(bad, ['id: broken', 'title: Broken', 'type: templates', 'classes:', '  - id: a', '  - description: no id', 'templates:', '  - text: "{x}"', 'slots:', '  x: [one]', ''].join('\n'));
    await tid('probes-upload').setInputFiles(bad);
    const error = tid('probes-upload-error');
    await error.waitFor();
    const message = await error.innerText();
    assert.match(message, /^broken-set\.yaml:6: classes\[1\]/, message);
    for (const line of message.split('\n')) assert.match(line, /^broken-set\.yaml(:\d+)?: /, `every line names the file: ${message}`);
    assert.ok(!fs.existsSync(path.join(work, 'uploaded-probes', 'broken-set.yaml')), 'a refused set is not stored');
    assert.equal(await page.locator('[data-testid="probe-set"][data-file$="/broken-set.yaml"]').count(), 0);
    await page.locator(`[data-testid="probe-set"].selected[data-file$="/${UPLOAD_FILE}"]`).waitFor();
    await shot('02c-probes-upload-error');
    const notes = path.join(picked, 'notes.txt');
    fs.writeFileSync(notes, 'id: notes\n');
    await tid('probes-upload').setInputFiles(notes);
    await page.locator('[data-testid="probes-upload-error"]', { hasText: '"notes.txt": an uploaded probe set is named by a bare file name ending in .json, .yaml, .yml' }).waitFor();
  });

  step('Probes: run the demo probe set to the end', async () => {
    await tid('tab-probes').click();
    const setButton = page.locator('[data-testid="probe-set"][data-file$="/demo-refusal.json"]');
    await setButton.click();
    const title = loadProbeSet(path.join(PROBES_DIR, 'demo-refusal.json')).title;
    await page.locator('.view-probes h2', { hasText: title }).waitFor();
    await page.locator('[data-testid="probe-run"]:not([disabled])').waitFor();
    await tid('probe-run').click();
    // A screenshot mid-run, once some prompts are recorded (unless the run is already over).
    const recording = page.locator('[data-testid="probe-progress"] [role="progressbar"][aria-valuenow]:not([aria-valuenow="0"])');
    await Promise.race([recording.waitFor(), tid('probe-message').waitFor()]);
    if (await recording.isVisible()) await shot('02-probes-running');
    await tid('probe-message').waitFor({ timeout: 150_000 });
    const message = await tid('probe-message').innerText();
    assert.match(message, /finished/, `probe run outcome: ${message}`);
    const finished = page.locator('[data-testid="run-row"][data-status="finished"]');
    await finished.waitFor();
    assert.equal(await finished.getAttribute('data-precision'), 'int8', 'the run is recorded at the precision the model was opened at');
    assert.equal(await finished.getByTestId('run-precision').innerText(), 'int8');
    await shot('03-probes-finished');
  }, 170_000);

  step('Imaging: the top-ranked cells are the planted experts', async () => {
    await tid('tab-imaging').click();
    await tid('heatmap-canvas').waitFor();
    await tid('ranking-row').first().waitFor();
    // The ranking that matters targets the refused class (the default, as the set's first class).
    if ((await tid('imaging-target').inputValue()) !== 'refused') await tid('imaging-target').selectOption('refused');
    await page.locator('[data-testid="heatmap-legend"]', { hasText: 'target refused' }).waitFor();
    await page.waitForFunction((n) => (globalThis as unknown as { __moteTest: { topRanked(n: number): unknown[] } }).__moteTest.topRanked(n).length === n, P);
    const top = await topRanked(page, P);
    const hits = top.filter((e) => planted.some((p) => p.layer === e.layer && p.expert === e.expert));
    const best = await cellCenter(page, 'heatmap', top[0].layer, top[0].expert);
    assert.ok(best, 'the best-ranked cell is on screen');
    await page.mouse.move(best.x, best.y);
    await page.waitForTimeout(150);
    await page.screenshot({ path: path.join(SHOTS, '04-imaging.png'), fullPage: true });
    assert.ok(hits.length / P >= 0.8, `precision@${P} = ${hits.length}/${P}: top ${JSON.stringify(top.map((e) => [e.layer, e.expert]))}, planted ${JSON.stringify(planted.map((e) => [e.layer, e.expert]))}`);
  });

  step('Steering: switch off the top P from the ranking', async () => {
    await tid('tab-steering').click();
    await tid('steer-heatmap-canvas').waitFor();
    await tid('steer-topn-count').fill(String(P));
    await page.locator('[data-testid="steer-topn"]', { hasText: `top ${P}` }).click();
    await page.waitForFunction((n) => (globalThis as unknown as { __moteTest: { currentMask(): { entries: unknown[] } } }).__moteTest.currentMask().entries.length === n, P);
    maskBefore = await currentMask(page);
    const top = await topRanked(page, P);
    assert.deepEqual(maskBefore.entries, top.map((e) => ({ ...e, state: 'off' })), 'the mask is the top P in rank order, all off');
    assert.match(await tid('mask-summary').innerText(), new RegExp(`^${P} off · 0 forced`));
    assert.match(await tid('model-badge').innerText(), new RegExp(`mask ${P}`));
    await shot('05-steering');
  });

  step('Compare: the baseline refuses a held-out refused prompt, the steered model does not', async () => {
    const { classifier } = loadProbeSet(path.join(PROBES_DIR, 'demo-refusal.json'));
    assert.ok(classifier, 'demo-refusal.json has a classifier');
    const heldout = loadProbeSet(path.join(PROBES_DIR, 'demo-heldout.json'));
    const prompt = expandProbeSet(heldout).find((p) => p.class === 'refused');
    assert.ok(prompt, 'demo-heldout.json has a refused prompt');
    await tid('tab-compare').click();
    await tid('compare-prompt').fill(prompt.text);
    if (!(await tid('compare-chat').isChecked())) await tid('compare-chat').check();
    await tid('compare-max-tokens').fill('32');
    await tid('compare-temperature').fill('0');
    await tid('compare-run').click();
    await page.locator('[data-testid="compare-baseline"][data-status="done"]').waitFor();
    await page.locator('[data-testid="compare-steered"][data-status="done"]').waitFor();
    const baseline = await tid('compare-baseline').innerText();
    const steered = await tid('compare-steered').innerText();
    await shot('06-compare');
    assert.equal(classifyOutput(classifier, baseline), 'refused', `baseline for ${JSON.stringify(prompt.text)} is a refusal: ${JSON.stringify(baseline)}`);
    assert.notEqual(classifyOutput(classifier, steered), 'refused', `steered output is not a refusal: ${JSON.stringify(steered)}`);
  });

  step('Export: the mask downloads as mote-mask JSON with the model identity and P off entries', async () => {
    await tid('tab-model').click();
    const hash = (await page.locator('[data-testid="model-card"] dt', { hasText: 'Checkpoint hash' }).locator('xpath=following-sibling::dd').innerText()).trim();
    await tid('tab-export').click();
    await tid('export-mask-name').fill('demo top-P');
    await tid('tab-steering').click();
    await tid('tab-export').click();
    assert.equal(await tid('export-mask-name').inputValue(), 'demo top-P', 'the typed name survives a tab switch');
    await tid('export-mask-format-mote').click();
    const [download] = await Promise.all([page.waitForEvent('download'), tid('export-mask').click()]);
    exportedFile = path.join(SHOTS, download.suggestedFilename());
    await download.saveAs(exportedFile);
    await tid('export-mask-result').waitFor();
    await shot('07-export');
    const file = JSON.parse(fs.readFileSync(exportedFile, 'utf8'));
    assert.match(download.suggestedFilename(), /\.mote-mask\.json$/);
    assert.equal(file.format, 'mote-mask');
    assert.equal(file.version, 1);
    assert.equal(file.name, 'demo top-P');
    assert.deepEqual(file.model, {
      architecture: config.model_type, layers: config.num_hidden_layers, experts: config.num_experts, topK: config.num_experts_per_tok, checkpoint: hash,
      precision: 'int8',
    });
    assert.equal(file.mode, maskBefore.mode);
    assert.equal(file.forceWeight, maskBefore.forceWeight);
    assert.equal(file.entries.length, P);
    assert.ok(file.entries.every((e: { state: string }) => e.state === 'off'));
    assert.deepEqual(file.entries, maskBefore.entries);
  });

  step('Import: the exported file brings the same mask back', async () => {
    await tid('tab-steering').click();
    await tid('steer-clear').click();
    await page.waitForFunction(() => (globalThis as unknown as { __moteTest: { currentMask(): { entries: unknown[] } } }).__moteTest.currentMask().entries.length === 0);
    await tid('tab-export').click();
    await tid('export-mask-name').fill('');
    await tid('import-mask-file').setInputFiles(exportedFile);
    await tid('import-result').waitFor();
    assert.match(await tid('import-result').innerText(), new RegExp(`${P} off, 0 forced`));
    assert.equal(await tid('export-mask-name').inputValue(), 'demo top-P', 'the imported mask brings its name');
    assert.deepEqual(await currentMask(page), maskBefore);
    await shot('08-import');
    await tid('tab-steering').click();
    await tid('steer-heatmap-canvas').waitFor();
    await shot('09-steering-after-import');
  });

  it('no errors in the page (CSP violations included)', () => {
    assert.deepEqual(pageErrors, []);
  });
});
