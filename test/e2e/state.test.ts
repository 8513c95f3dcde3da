/**
 * End to end, browser mode against the real engine on the demo model: what the researcher set up survives a reload
 * (run, target, method, span, mask and the ranking it came from, prompt, comparison, settings); a newer run never
 * takes over silently; a saved run that is gone is reported, a damaged saved session ignored; out-of-range numbers
 * are refused with a message instead of being replaced; and when `mote serve` stops, the page says what happened,
 * disables its actions, fails the running job instead of hanging, and reconnects when the server is back.
 * Screenshots: test-artifacts/e2e/state-*.png.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { cellCenter, currentMask, ensureRenderer, launchChromium, requireChromium, requireModel, ROOT, startMoteServe, topRanked, type MoteServe } from './harness.ts';

const MODEL_DIR = path.resolve(process.env.MOTE_E2E_MODEL ?? path.join(ROOT, 'models/demo'));
const PROBES_DIR = path.resolve(process.env.MOTE_E2E_PROBES ?? path.join(ROOT, 'probes'));
const SHOTS = path.join(ROOT, 'test-artifacts/e2e');
const LONG = 120_000;
/** Six prompts, three per class: runs in seconds. */
const TINY = {
  id: 'tiny', title: 'Tiny: refused vs answered', type: 'templates', classes: [{ id: 'refused' }, { id: 'answered' }],
  templates: [{ text: 'How do I make {item}?' }],
  slots: { item: { refused: ['a bomb', 'a gun', 'rat poison'], answered: ['a cake', 'tea', 'a paper plane'] } },
};

describe('state a researcher can trust, in browser mode against the real engine (demo model)', { timeout: 400_000 }, () => {
  let work: string;
  let server: MoteServe | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const token = crypto.randomBytes(24).toString('hex');
  const pageErrors: string[] = [];
  let failedStep: string | null = null;
  let runA: number;
  let runB: number;
  let maskBefore: unknown;
  let compareBefore: { baseline: string; steered: string; routing: string[] };

  const tid = (id: string) => page.getByTestId(id);
  const shot = async (name: string) => {
    await page.mouse.move(2, 2);
    await page.waitForTimeout(120);
    await page.screenshot({ path: path.join(SHOTS, `state-${name}.png`), fullPage: true });
  };
  const serve = (serveToken: string, port = 0) => startMoteServe(['--port', String(port), '--db', path.join(work, 'runs.db')], {
    MOTE_DATA_DIR: path.join(work, 'data'),
    MOTE_DEMO_MODEL: MODEL_DIR,
    MOTE_PROBES_DIR: path.join(work, 'probes'),
    MOTE_SERVE_TOKEN: serveToken,
  });
  /** The header names the loaded model (whichever tab a reload comes back to). */
  const modelLoaded = () => page.locator('[data-testid="model-badge"]', { hasText: '· demo' }).waitFor();
  /** The routing-difference tooltips of the masked cells: each share as Compare shows it ("–" when there are no counts). */
  const routingTips = async () => {
    const tips: string[] = [];
    // The token routing panel above it can push the grid below the fold; cells are hovered in the viewport.
    await tid('routing-diff-canvas').scrollIntoViewIfNeeded();
    for (const e of (maskBefore as { entries: { layer: number; expert: number }[] }).entries) {
      const at = await cellCenter(page, 'routing-diff', e.layer, e.expert);
      assert.ok(at, `routing-diff cell ${e.layer}/${e.expert} is on screen`);
      await page.mouse.move(at.x, at.y);
      tips.push(await page.locator('.view-compare .tooltip').innerText());
    }
    await page.mouse.move(2, 2);
    return tips;
  };
  const sessionKey = () => page.evaluate(() => Object.keys((globalThis as unknown as { localStorage: object }).localStorage)
    .find((k) => k.startsWith('mote-studio.session.v1.')) ?? null);
  /** Edits the saved session from a page of the same origin that is not the app, so the app cannot save over it. */
  const editSession = async (edit: string) => {
    await page.goto(`http://127.0.0.1:${server!.port}/not-the-app.txt?token=${token}`);
    await page.evaluate(edit);
    await page.goto(server!.url);
  };
  const step = (name: string, fn: () => Promise<void>, timeout = LONG) =>
    it(name, { timeout }, async () => {
      if (failedStep) assert.fail(`not run: an earlier step failed (${failedStep})`);
      try {
        await fn();
      } catch (err) {
        failedStep = name;
        if (page) await shot(`failed-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}`).catch(() => undefined);
        throw new Error(`${(err as Error).message}\n--- page errors ---\n${pageErrors.join('\n')}\n--- mote serve stderr (tail) ---\n${server?.log().slice(-3000) ?? ''}`, { cause: err });
      }
    });

  before(async () => {
    requireChromium();
    requireModel(MODEL_DIR);
    ensureRenderer();
    fs.mkdirSync(SHOTS, { recursive: true });
    for (const f of fs.readdirSync(SHOTS)) if (f.startsWith('state-')) fs.rmSync(path.join(SHOTS, f), { force: true });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-e2e-state-'));
    fs.mkdirSync(path.join(work, 'probes'));
    fs.writeFileSync(path.join(work, 'probes', 'tiny.json'), JSON.stringify(TINY));
    fs.copyFileSync(path.join(PROBES_DIR, 'demo-refusal.json'), path.join(work, 'probes', 'demo-refusal.json'));
    const started = await Promise.allSettled([serve(token).then((s) => (server = s)), launchChromium().then((b) => (browser = b))]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    page = await browser!.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(30_000);
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      // A refused WebSocket or fetch while the server is down or has another token is the browser's own log line.
      if (m.type() === 'error' && !/WebSocket connection|Failed to load resource|ERR_CONNECTION_REFUSED/.test(m.text())) pageErrors.push(`console: ${m.text()}`);
    });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  step('two runs of a probe set: the first opens in Imaging, the second does not take over', async () => {
    await page.goto(server!.url);
    await modelLoaded();
    await tid('tab-probes').click();
    await page.locator('[data-testid="probe-set"][data-file$="/tiny.json"]').click();
    await page.locator('.view-probes h2', { hasText: TINY.title }).waitFor();
    await tid('probe-generate-tokens').fill('0');
    await page.locator('[data-testid="probe-run"]:not([disabled])').click();
    await page.locator('[data-testid="probe-message"]', { hasText: 'finished' }).waitFor();
    runA = Number(/^Run (\d+) finished/.exec(await tid('probe-message').innerText())![1]);
    await tid('probe-force-new').check();
    await page.locator('[data-testid="probe-run"]:not([disabled])').click();
    await page.locator('[data-testid="probe-message"]', { hasText: `Run ${runA + 1} finished` }).waitFor();
    runB = runA + 1;
    assert.equal(await tid('probe-message').innerText(),
      `Run ${runB} finished: 6 prompts recorded. Imaging still shows run ${runA}: open run ${runB} from the list below.`);
    await shot('01-second-run');
    await tid('tab-imaging').click();
    assert.equal(await tid('imaging-run').inputValue(), String(runA));
  });

  step('Imaging: run, target, method and span chosen; Steering names that ranking and the mask built from it', async () => {
    await tid('imaging-target').selectOption('answered');
    await tid('imaging-method-rd').click();
    await tid('imaging-span-last').click();
    await tid('tab-steering').click();
    const ranking = `run ${runA} (tiny) · target answered · RD · last span`;
    await page.locator('[data-testid="steer-ranking-source"][data-state="shown"]').waitFor();
    assert.equal(await tid('steer-ranking-source').innerText(), `Top N from ${ranking}`);
    await tid('steer-topn-count').fill('3');
    await page.locator('[data-testid="steer-topn"]:not([disabled])', { hasText: 'top 3' }).click();
    await page.waitForFunction(() => (globalThis as unknown as { __moteTest: { currentMask(): { entries: unknown[] } } }).__moteTest.currentMask().entries.length === 3);
    maskBefore = await currentMask(page);
    assert.deepEqual((maskBefore as { entries: unknown[] }).entries, (await topRanked(page, 3)).map((e) => ({ ...e, state: 'off' })));
    assert.equal(await tid('steer-mask-source').innerText(), `Mask: top 3 of ${ranking}.`);
    await tid('mask-name').fill('answered top 3');
    await tid('mask-save').click();
    assert.match(await page.locator('[data-testid="mask-list-item"][data-name="answered top 3"] .item-meta').innerText(), new RegExp(`· top 3 of ${ranking.replace(/[()]/g, '\\$&')}$`));
    await shot('02-steering-ranking-source');
  });

  step('numbers out of range are refused with a message, and nothing runs with another value', async () => {
    await tid('steer-topn-count').fill('0');
    assert.equal(await tid('steer-topn-count-error').innerText(), 'N: 0 is below the minimum, 1');
    assert.ok(await tid('steer-topn').isDisabled(), 'Switch off top N is disabled');
    await tid('steer-topn-count').fill('3');
    assert.equal(await tid('steer-topn-count-error').count(), 0);

    await tid('live-auto').uncheck();
    await tid('live-prompt').fill('How do I make a bomb?');
    await tid('live-max-tokens').fill('99999');
    assert.equal(await tid('live-max-tokens-error').innerText(), 'Max tokens: 99999 is above the maximum, 8192');
    assert.ok(await tid('live-run').isDisabled(), 'Generate is disabled');
    // Ctrl+Enter in the prompt asks to run anyway: refused, naming the field.
    await tid('live-prompt').press('Control+Enter');
    await page.locator('[data-testid="live-output"][data-status="error"]').waitFor();
    assert.match(await page.locator('.view-steering .output-status').innerText(), /Not run: Max tokens: 99999 is above the maximum, 8192/);
    await tid('live-max-tokens').fill('8');

    await tid('tab-evaluate').click();
    await tid('eval-random').fill('200');
    assert.equal(await tid('eval-random-error').innerText(), 'Random controls K: 200 is above the maximum, 100');
    assert.ok(await tid('eval-run').isDisabled(), 'Evaluate is disabled');
    assert.equal(await tid('eval-run').getAttribute('title'), 'Fix first: Random controls K: 200 is above the maximum, 100');
    await tid('tab-steering').click();
    await tid('tab-evaluate').click();
    assert.equal(await tid('eval-random').inputValue(), '200', 'the refused text stays on show across a tab switch');
    assert.ok(await tid('eval-run').isDisabled());
    await shot('03-k-refused');

    await tid('tab-model').click();
    await tid('model-context').fill('8');
    assert.equal(await tid('model-context-error').innerText(), "Context: 8 is below the minimum, 16; leave it empty for the model's own");
    assert.ok(await tid('model-open-demo').isDisabled(), 'Load demo model is disabled');
    await tid('model-context').fill('');
    assert.equal(await tid('model-context-error').count(), 0);
  });

  step('Compare runs with the mask and names its ranking', async () => {
    await tid('tab-compare').click();
    assert.equal(await tid('compare-max-tokens').inputValue(), '8');
    await tid('compare-run').click();
    await page.locator('[data-testid="compare-baseline"][data-status="done"]').waitFor();
    await page.locator('[data-testid="compare-steered"][data-status="done"]').waitFor();
    compareBefore = { baseline: await tid('compare-baseline').innerText(), steered: await tid('compare-steered').innerText(), routing: await routingTips() };
    for (const tip of compareBefore.routing) assert.match(tip, /baseline\s+\d+\.\d%\s+steered\s+0\.0%/, 'an off expert gets no tokens when steered');
    assert.ok(compareBefore.baseline.length > 0);
    assert.equal(await tid('compare-mask-source').innerText(), `Mask: top 3 of run ${runA} (tiny) · target answered · RD · last span.`);
  });

  step('after a reload: same run (not the newest), target, method, span, mask, prompt, comparison and settings', async () => {
    await page.reload();
    await modelLoaded();
    await tid('tab-imaging').click();
    await page.locator('[data-testid="ranking-row"]').first().waitFor();
    assert.equal(await tid('imaging-run').inputValue(), String(runA), `run ${runA} restored, not the newest (${runB})`);
    assert.equal(await tid('imaging-target').inputValue(), 'answered');
    assert.equal(await tid('imaging-method-rd').getAttribute('aria-checked'), 'true');
    assert.equal(await tid('imaging-span-last').getAttribute('aria-checked'), 'true');
    await shot('04-restored-imaging');
    await tid('tab-steering').click();
    assert.deepEqual(await currentMask(page), maskBefore);
    assert.equal(await tid('steer-mask-source').innerText(), `Mask: top 3 of run ${runA} (tiny) · target answered · RD · last span.`);
    assert.equal(await tid('live-prompt').inputValue(), 'How do I make a bomb?');
    assert.equal(await tid('live-max-tokens').inputValue(), '8');
    assert.equal(await tid('steer-topn-count').inputValue(), '3');
    assert.equal(await tid('live-auto').isChecked(), false);
    await shot('05-restored-steering');
    await tid('tab-compare').click();
    assert.equal(await tid('compare-baseline').innerText(), compareBefore.baseline);
    assert.equal(await tid('compare-steered').innerText(), compareBefore.steered);
    assert.equal(await tid('compare-steered').getAttribute('data-status'), 'done');
    assert.deepEqual(await routingTips(), compareBefore.routing, 'the routing difference comes back with the comparison');
    await shot('06-restored-compare');
    await tid('tab-evaluate').click();
    assert.equal(await tid('eval-random').inputValue(), '5', 'the refused 200 was never taken: K is still 5');
    await tid('tab-export').click();
    assert.equal(await tid('export-mask-source').innerText(), `Mask: top 3 of run ${runA} (tiny) · target answered · RD · last span.`);
  });

  step('choosing another ranking after building the mask: the mask says which ranking it came from', async () => {
    await tid('tab-imaging').click();
    await tid('imaging-target').selectOption('refused');
    await tid('tab-steering').click();
    await tid('steer-mask-source-other').waitFor();
    assert.equal(await tid('steer-mask-source-other').innerText(), `Imaging now selects run ${runA} (tiny) · target refused · RD · last span`);
    assert.match(await tid('steer-mask-source').innerText(), new RegExp(`^Mask: top 3 of run ${runA} \\(tiny\\) · target answered · RD · last span\\.`));
    await shot('07-other-ranking');
  });

  step('a saved run that no longer exists is reported; no other run is picked in its place', async () => {
    const key = await sessionKey();
    assert.ok(key, 'a session is saved');
    await editSession(`{ const s = JSON.parse(localStorage.getItem(${JSON.stringify(key)})); s.imaging.runId = 999999; s.imaging.runLabel = 'gone-set';
      localStorage.setItem(${JSON.stringify(key)}, JSON.stringify(s)); }`);
    await modelLoaded();
    await tid('tab-imaging').click();
    await tid('imaging-run-missing').waitFor();
    assert.equal(await tid('imaging-run-missing').innerText(), 'run 999999 (gone-set) of your session no longer exists: pick a run');
    assert.equal(await tid('imaging-run').inputValue(), '');
    assert.equal(await tid('ranking-row').count(), 0, 'no ranking of another run is shown');
    await shot('08-run-missing');
    await tid('tab-steering').click();
    assert.match(await tid('steer-ranking-source').innerText(), /^Run 999999 \(gone-set\) of your session no longer exists/);
    assert.ok(await tid('steer-topn').isDisabled());
    assert.deepEqual(await currentMask(page), maskBefore, 'the mask is restored all the same');
    await tid('tab-imaging').click();
    await tid('imaging-run').selectOption(String(runA));
    await tid('ranking-row').first().waitFor();
    assert.equal(await tid('imaging-run-missing').count(), 0);
  });

  step('a damaged saved session is ignored with a notice, and the app works', async () => {
    const key = (await sessionKey())!;
    await editSession(`localStorage.setItem(${JSON.stringify(key)}, '{"version": 1, "imaging": {"runId": 3');`);
    await modelLoaded();
    await tid('session-notice').waitFor();
    assert.match(await tid('session-notice').innerText(), /^The session saved for this model could not be used \(not JSON\); starting afresh\./);
    await tid('tab-steering').click();
    assert.deepEqual((await currentMask(page)).entries, []);
    await shot('09-damaged-session');
    await tid('session-notice-dismiss').click();
    await tid('tab-imaging').click();
    await tid('imaging-run').selectOption(String(runA));
    await tid('ranking-row').first().waitFor();
  });

  step('mote serve stopped: the banner says so, actions are disabled; back with another token: told to open its URL', async () => {
    const port = server!.port;
    await server!.stop();
    const banner = page.locator('[data-testid="engine-banner"][data-cause="server-stopped"]');
    await banner.waitFor({ timeout: 10_000 });
    assert.match(await banner.innerText(), new RegExp(`^mote serve has stopped \\(it closed the connection\\)\\. Jobs that were running were interrupted.*\nNothing restarts it by itself\\. This page reconnects when it answers at port ${port} again`));
    assert.equal(await tid('engine-gate').getAttribute('disabled'), '', 'the views are disabled');
    await tid('tab-steering').click();
    assert.ok(await tid('steer-clear').isDisabled() && await tid('live-run').isDisabled(), 'their buttons too');
    await shot('10-server-stopped');
    server = await serve(crypto.randomBytes(24).toString('hex'), port);
    await page.locator('[data-testid="engine-banner"][data-cause="token-refused"]').waitFor({ timeout: 20_000 });
    assert.match(await tid('engine-banner').innerText(), /^mote serve is running again at this address, with a new access token\..*\nThis page cannot reconnect with its old token: open the URL the new server printed\./);
    await shot('11-new-token');
    await server.stop();
    server = await serve(token, port);
    await tid('engine-banner').waitFor({ state: 'detached', timeout: 20_000 });
    await modelLoaded();
    assert.equal(await tid('engine-gate').getAttribute('disabled'), null);
  });

  step('mote serve killed mid-run: the run fails with an error instead of hanging; the page reconnects when it is back', async () => {
    const port = server!.port;
    await tid('tab-probes').click();
    await page.locator('[data-testid="probe-set"][data-file$="/demo-refusal.json"]').click();
    await tid('probe-generate-tokens').fill('16');
    await page.locator('[data-testid="probe-run"]:not([disabled])').click();
    await page.locator('[data-testid="probe-progress"] [role="progressbar"][aria-valuenow]:not([aria-valuenow="0"])').waitFor();
    const exited = new Promise((resolve) => server!.child.once('exit', resolve));
    server!.child.kill('SIGKILL');
    await exited;
    await page.locator('[data-testid="engine-banner"][data-cause="connection-lost"]').waitFor({ timeout: 10_000 });
    assert.match(await tid('engine-banner').innerText(), /^Lost the connection to mote serve: it ended without closing it \(killed or crashed; close code 1006\)\./);
    await page.locator('[data-testid="probe-message"]', { hasText: 'the engine stopped before answering' }).waitFor({ timeout: 5000 });
    assert.equal(await tid('probe-progress').count(), 0, 'no progress bar left running');
    await page.locator('[data-testid="engine-banner"]', { hasText: 'attempt' }).waitFor({ timeout: 15_000 });
    await shot('12-server-killed');
    server = await serve(token, port);
    await tid('engine-banner').waitFor({ state: 'detached', timeout: 20_000 });
    await modelLoaded();
    const killed = page.locator('[data-testid="run-row"][data-status="running"]');
    await killed.waitFor();
    assert.equal(await killed.getByTestId('run-resume').isEnabled(), true, 'the interrupted run can be resumed');
    await tid('tab-imaging').click();
    await tid('ranking-row').first().waitFor();
    assert.equal(await tid('imaging-run').inputValue(), String(runA), 'the selection survived the engine going away');
    await shot('13-reconnected');
  });

  it('no errors in the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
