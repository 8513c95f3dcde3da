import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { EngineHost } from '../../engine/host/engine-host.ts';
import { callHost, CallError } from '../../engine/host/local-client.ts';
import { ownServerControl } from '../../engine/server/openai/control.ts';
import { OpenAIEndpoint } from '../../engine/server/openai/endpoint.ts';
import { testCacheDir } from '../helpers/engine-run.ts';

/**
 * The endpoint as the desktop app's engine process has it (engine/host/engine-process.ts): no server until the app
 * switches it on through the protocol, an API-only one then, none again once switched off; masks saved through the
 * protocol become model names.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const DEMO = path.join(ROOT, 'models', 'demo');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-openai-control-'));
const masksDir = path.join(work, 'masks');

describe('openai.* protocol methods with an API-only server of the engine\'s own', () => {
  let host: EngineHost;
  before(async () => {
    host = new EngineHost({ demoModelDir: DEMO, probesDir: work, dbFile: path.join(work, 'mote.db'), cacheDir: testCacheDir, threads: 1 });
    host.setOpenAIControl(ownServerControl(host, new OpenAIEndpoint({ engine: host, masksDir, maxWaiting: 4 }), () => undefined));
    await callHost(host, 'model.open', { precision: 'f32' });
  });
  after(async () => {
    await callHost(host, 'openai.setEnabled', { enabled: false });
    await host.dispose();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('is off at first, serves the API once switched on, and closes its port once switched off', async () => {
    assert.deepEqual(await callHost(host, 'openai.status', {}), { available: true, enabled: false, baseUrl: null, apiKey: null, models: [], masksDir });
    const on = await callHost(host, 'openai.setEnabled', { enabled: true });
    assert.match(on.baseUrl!, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    assert.match(on.apiKey!, /^[0-9a-f]{48}$/);
    assert.deepEqual(on.models, ['demo']);
    const client = new OpenAI({ baseURL: on.baseUrl!, apiKey: on.apiKey!, maxRetries: 0 });
    const reply = await client.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'What is the capital of France?' }], temperature: 0, max_tokens: 16 });
    assert.ok(reply.choices[0].message.content);
    // API only: no UI and no engine socket on this server.
    const root = await fetch(on.baseUrl!.replace(/\/v1$/, '/'), { headers: { Authorization: `Bearer ${on.apiKey}` } });
    assert.equal(root.status, 404);
    assert.deepEqual(await callHost(host, 'openai.setEnabled', { enabled: true }), on, 'switching on twice keeps the one server');

    const offStatus = await callHost(host, 'openai.setEnabled', { enabled: false });
    assert.equal(offStatus.enabled, false);
    await assert.rejects(fetch(`${on.baseUrl}/models`), /fetch failed/, 'nothing listens once switched off');
  });

  it('openai.saveMask writes a mote-mask file that is served as MODEL+NAME, and refuses what does not fit', async () => {
    const mask = { mode: 'backfill' as const, forceWeight: 'natural' as const, entries: [{ layer: 0, expert: 9, state: 'off' as const }, { layer: 1, expert: 14, state: 'off' as const }] };
    const saved = await callHost(host, 'openai.saveMask', { name: 'two-off', mask });
    assert.deepEqual(saved, { file: path.join(masksDir, 'two-off.json'), model: 'demo+two-off' });
    const file = JSON.parse(fs.readFileSync(saved.file, 'utf8'));
    assert.equal(file.format, 'mote-mask');
    assert.equal(file.name, 'two-off');
    assert.deepEqual(file.entries, mask.entries);
    const on = await callHost(host, 'openai.setEnabled', { enabled: true });
    assert.deepEqual(on.models, ['demo', 'demo+two-off']);

    const tooFar = callHost(host, 'openai.saveMask', { name: 'bad', mask: { ...mask, entries: [{ layer: 9, expert: 0, state: 'off' }] } });
    await assert.rejects(tooFar, (err: CallError) => err.code === 'bad-request' && /layer 9/.test(err.message));
    assert.equal(fs.existsSync(path.join(masksDir, 'bad.json')), false);
    await assert.rejects(callHost(host, 'openai.saveMask', { name: '../escape', mask }), (err: CallError) => err.code === 'bad-request');
  });
});
