/**
 * End to end: the Probes view's "Remote server" form records the demo probe set through the vLLM contract server
 * (test/remote/contract-server.ts, answering with the local engine's routing for the demo model), against a real
 * `mote serve` in headless Chromium; the recorded run's counts equal a local run's. Screenshots:
 * test-artifacts/e2e/remote-*.png.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { loadTokenizer } from '../../engine/model/tokenizer.ts';
import { loadProbeSet } from '../../engine/probes/load-probe-set.ts';
import { runProbes } from '../../engine/probes/run-probes.ts';
import { openDatabase } from '../../engine/store/database.ts';
import { getCounts, listRuns } from '../../engine/store/runs.ts';
import { SPANS } from '../../engine/store/span-counts.ts';
import { openRunner } from '../helpers/engine-run.ts';
import { startContractServer, type ContractServer } from '../remote/contract-server.ts';
import { ensureRenderer, launchChromium, requireChromium, ROOT, startMoteServe, type MoteServe } from './harness.ts';

const DEMO = path.join(ROOT, 'models/demo');
const SET_FILE = path.join(ROOT, 'probes/demo-refusal.json');
const SHOTS = path.join(ROOT, 'test-artifacts/e2e');
const MODEL_ID = 'mote/demo';

describe('Probes view: recording through a remote server', { timeout: 240_000 }, () => {
  let work: string;
  let serve: MoteServe | undefined;
  let contract: ContractServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    requireChromium();
    ensureRenderer();
    fs.mkdirSync(SHOTS, { recursive: true });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-e2e-remote-'));
    const probes = path.join(work, 'probes');
    fs.mkdirSync(probes);
    fs.copyFileSync(SET_FILE, path.join(probes, 'demo-refusal.json'));
    contract = await startContractServer({ backend: 'vllm', modelDir: DEMO, modelId: MODEL_ID, apiKey: 'sesame', jitterMs: 10 });
    serve = await startMoteServe(['--db', path.join(work, 'runs.db')], {
      MOTE_CACHE_DIR: path.join(work, 'cache'), MOTE_DATA_DIR: path.join(work, 'data'), MOTE_DEMO_MODEL: DEMO, MOTE_PROBES_DIR: probes,
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(120_000);
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  });

  after(async () => {
    await browser?.close();
    await serve?.stop();
    await contract?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('fills the form, records the demo set through the vLLM contract server, and the run equals a local one', async () => {
    const tid = (id: string) => page.getByTestId(id);
    await page.goto(serve!.url);
    await tid('tab-probes').click();
    await page.locator('[data-testid="probe-set"][data-file$="/demo-refusal.json"]').click();
    await page.locator('.view-probes h2', { hasText: loadProbeSet(SET_FILE).title }).waitFor();
    // Prompt routing only, so the run is comparable token for token with a local prefill run.
    await tid('probe-generate-tokens').fill('0');
    await tid('probe-generate-tokens').blur();
    await page.locator('[data-testid="remote-run"] summary').click();
    assert.ok(await tid('remote-run-start').isDisabled(), 'nothing to run before URL, model id and config are given');
    await tid('remote-url').fill(contract!.url);
    await tid('remote-backend').selectOption('vllm');
    await tid('remote-model-id').fill(MODEL_ID);
    await tid('remote-api-key').fill('sesame');
    await tid('remote-config').setInputFiles(path.join(DEMO, 'config.json'));
    await page.locator('[data-testid="remote-run"] .file-button', { hasText: 'config: config.json' }).waitFor();
    await page.mouse.move(2, 2);
    await page.locator('[data-testid="remote-run"]').screenshot({ path: path.join(SHOTS, 'remote-form.png') });
    await tid('remote-run-start').click();
    await tid('remote-message').waitFor();
    assert.match(await tid('remote-message').innerText(), /^Run 1 finished: 65 prompts recorded through vllm\.$/);
    const row = page.locator('[data-testid="run-row"][data-status="finished"]');
    await row.waitFor();
    assert.match(await row.innerText(), /qwen3_moe · mote\/demo on vllm\s+server/);
    await page.screenshot({ path: path.join(SHOTS, 'remote-finished.png'), fullPage: true });

    await tid('remote-model-id').fill('no-such-model');
    await tid('remote-run-start').click();
    await tid('remote-error').waitFor();
    assert.match(await tid('remote-error').innerText(), /HTTP 404: The model `no-such-model` does not exist\./);
    await page.locator('[data-testid="remote-run"]').screenshot({ path: path.join(SHOTS, 'remote-error.png') });
    assert.deepEqual(pageErrors, []);

    const runner = await openRunner(DEMO);
    const local = openDatabase(path.join(work, 'local.db'));
    const recorded = openDatabase(path.join(work, 'runs.db'));
    try {
      const tokenizer = await loadTokenizer(DEMO, runner.checkpoint.config);
      const set = loadProbeSet(SET_FILE);
      const { runId } = await runProbes(local, runner, tokenizer, { set, setPath: SET_FILE, generateTokens: 0 });
      const remoteRun = listRuns(recorded).find((r) => r.status === 'finished')!;
      assert.equal(remoteRun.model.remote?.backend, 'vllm');
      assert.equal(remoteRun.generateTokens, 0);
      assert.deepEqual(SPANS.map((s) => getCounts(recorded, remoteRun.id, s)), SPANS.map((s) => getCounts(local, runId, s)));
    } finally {
      local.close();
      recorded.close();
      await runner.dispose();
    }
  });
});
