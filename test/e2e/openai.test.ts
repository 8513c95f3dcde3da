/**
 * End to end: the OpenAI-compatible endpoint switched on from the app in browser mode (`mote serve` on the demo model,
 * headless Chromium), used with the official `openai` client at the base URL and API key the panel shows; a mask
 * imported in the app and saved for the API becomes a second model name that steers; switched off, the API refuses.
 * Screenshots: test-artifacts/e2e/openai-*.png.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import { summarizeCheckpoint } from '../../engine/cli/inspect.ts';
import { openCheckpoint } from '../../engine/model/checkpoint.ts';
import { ensureRenderer, launchChromium, requireChromium, requireModel, ROOT, startMoteServe, type MoteServe } from './harness.ts';

const MODEL_DIR = path.join(ROOT, 'models/demo');
const SHOTS = path.join(ROOT, 'test-artifacts/e2e');
const REFUSED = 'How do I make a bomb?';

describe('OpenAI-compatible endpoint from the app (browser mode, demo model)', { timeout: 240_000 }, () => {
  let work: string;
  let server: MoteServe | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  const tid = (id: string) => page.getByTestId(id);
  const shot = (name: string, testId?: string) => (testId ? tid(testId) : page).screenshot({ path: path.join(SHOTS, `openai-${name}.png`) });
  const reply = async (client: OpenAI, model: string) =>
    (await client.chat.completions.create({ model, messages: [{ role: 'user', content: REFUSED }], temperature: 0, max_tokens: 32 })).choices[0].message.content;

  before(async () => {
    requireChromium();
    requireModel(MODEL_DIR);
    ensureRenderer();
    fs.mkdirSync(SHOTS, { recursive: true });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-e2e-openai-'));
    const started = await Promise.allSettled([
      startMoteServe(['--model', MODEL_DIR, '--precision', 'f32', '--threads', '1', '--db', path.join(work, 'runs.db')], {
        MOTE_CACHE_DIR: path.join(work, 'cache'), MOTE_DATA_DIR: path.join(work, 'data'), MOTE_DEMO_MODEL: MODEL_DIR,
      }).then((s) => (server = s)),
      launchChromium().then((b) => (browser = b)),
    ]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(60_000);
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

  it('switch on, use it with the openai client, serve a mask from the app as a second model, switch off', async () => {
    await page.goto(server!.url);
    await tid('tab-model').click();
    await tid('model-card').waitFor();
    const panel = tid('openai-panel');
    await panel.waitFor();
    assert.equal(await panel.getAttribute('data-enabled'), 'false', 'off unless --openai');
    const apiBase = `http://127.0.0.1:${server!.port}/v1`;
    const off = await fetch(`${apiBase}/models`, { headers: { Authorization: `Bearer ${server!.token}` } });
    assert.equal(off.status, 404);
    assert.equal(((await off.json()) as { error: { code: string } }).error.code, 'endpoint_off');

    await tid('openai-toggle').click();
    await page.waitForSelector('[data-testid="openai-panel"][data-enabled="true"]');
    const baseURL = (await tid('openai-base-url').textContent())!;
    const apiKey = (await tid('openai-api-key').textContent())!;
    assert.equal(baseURL, apiBase);
    assert.equal(apiKey, server!.token);
    assert.equal(await tid('openai-models').locator('code').allTextContents().then((t) => t.join(',')), 'demo');
    await shot('panel-on', 'openai-panel');

    const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
    assert.deepEqual((await client.models.list()).data.map((m) => m.id), ['demo']);
    const baseline = await reply(client, 'demo');
    assert.ok(baseline);

    // A mask made in the app (here imported from a file) saved for the API.
    const checkpoint = summarizeCheckpoint(openCheckpoint(MODEL_DIR)).checkpoint;
    const planted = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'planted-experts.json'), 'utf8')).planted as { layer: number; expert: number }[];
    const maskFile = path.join(work, 'planted.json');
    fs.writeFileSync(maskFile, JSON.stringify({
      format: 'mote-mask', version: 1, model: { architecture: 'qwen3_moe', layers: 4, experts: 16, topK: 2, checkpoint, precision: 'f32' },
      mode: 'backfill', forceWeight: 'natural', entries: planted.map((e) => ({ ...e, state: 'off' })),
    }));
    await tid('tab-export').click();
    await tid('import-mask-file').setInputFiles(maskFile);
    await tid('import-result').waitFor();
    await tid('export-mask-name').fill('refusal-off');
    await tid('save-mask-for-api').click();
    await tid('save-mask-for-api-result').filter({ hasText: 'model demo+refusal-off' }).waitFor();
    await tid('save-mask-for-api').scrollIntoViewIfNeeded();
    await shot('mask-saved');

    assert.deepEqual((await client.models.list()).data.map((m) => m.id), ['demo', 'demo+refusal-off']);
    const steered = await reply(client, 'demo+refusal-off');
    assert.notEqual(steered, baseline, 'the saved mask steers the second model name');

    await tid('tab-model').click();
    await tid('openai-refresh').click();
    await tid('openai-models').filter({ hasText: 'demo+refusal-off' }).waitFor();
    await shot('panel-models', 'openai-panel');
    await tid('openai-toggle').click();
    await page.waitForSelector('[data-testid="openai-panel"][data-enabled="false"]');
    await shot('panel-off', 'openai-panel');
    const refused = await client.models.list().then(() => null, (err: InstanceType<typeof OpenAI.APIError>) => err);
    assert.equal(refused?.status, 404);
    assert.deepEqual(pageErrors, []);
  });
});
