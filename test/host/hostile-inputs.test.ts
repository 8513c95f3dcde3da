import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EngineHost, MAX_ERROR_MESSAGE_CHARS } from '../../engine/host/engine-host.ts';
import { callHost, CallError } from '../../engine/host/local-client.ts';
import type { ExpertMask } from '../../engine/protocol/types.ts';
import { testCacheDir } from '../helpers/engine-run.ts';
import { sharedFolder } from '../helpers/golden.ts';

/**
 * Issue 11, items 1, 2 and 6 through the engine host, as the UI reaches it: every hostile file, path and mask gets
 * a clear error at once, and the engine answers the next request.
 */
const GOLDEN = sharedFolder('golden', 'qwen2_moe-f32');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-hostile-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const probesDir = path.join(work, 'probes');
fs.mkdirSync(probesDir);
const inProbes = (name: string) => path.join(probesDir, name);

const good = { type: 'templates', id: 'good', title: 'Good', chat: false, classes: [{ id: 'a' }, { id: 'b' }], templates: [{ text: 't2 {x}' }], slots: { x: ['t3', 't4'] } };
const slotNames = ['who', 'what', 'where', 'when', 'why', 'how', 'mood', 'tone'];
const bomb = {
  type: 'templates', id: 'bomb', title: 'Bomb', classes: [{ id: 'a' }],
  templates: [{ text: slotNames.map((n) => `{${n}}`).join(' ') }],
  slots: Object.fromEntries(slotNames.map((n) => [n, Array.from({ length: 30 }, (_, i) => `${n}${i}`)])),
};
fs.writeFileSync(inProbes('good.json'), JSON.stringify(good));
fs.writeFileSync(inProbes('bomb.json'), JSON.stringify(bomb));
fs.symlinkSync('/dev/zero', inProbes('zero.json'));
execFileSync('mkfifo', [inProbes('fifo.json')]);
fs.mkdirSync(inProbes('folder.json'));
fs.closeSync(fs.openSync(inProbes('huge.json'), 'w'));
fs.truncateSync(inProbes('huge.json'), 3 * 2 ** 30);
// A .json elsewhere on the machine, with something in it a request must not be able to read back.
const secret = path.join(work, 'secret.json');
fs.writeFileSync(secret, JSON.stringify({ type: 'templates', id: 'TOP-SECRET-VALUE', title: 1 }));

const host = new EngineHost({ demoModelDir: GOLDEN, probesDir, dbFile: path.join(work, 'mote.db'), cacheDir: testCacheDir, threads: 1 });
after(() => host.dispose());

/** Calls the host; resolves with the result or the CallError, failing the test if nothing comes within `ms`. */
async function call<M extends Parameters<typeof callHost>[1]>(method: M, params: Parameters<typeof callHost<M>>[2], ms = 5000) {
  const started = performance.now();
  const settled = await Promise.race([
    callHost(host, method, params).then((result) => ({ result }), (error: CallError) => ({ error })),
    new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ms).unref()),
  ]);
  assert.notEqual(settled, 'hung', `${method} did not answer within ${ms} ms`);
  return { ...(settled as { result?: unknown; error?: CallError }), ms: performance.now() - started };
}

async function refused(method: Parameters<typeof callHost>[1], params: object, code: string, pattern: RegExp) {
  const { error, result } = await call(method, params as never);
  assert.ok(error instanceof CallError, `${method} succeeded: ${JSON.stringify(result)?.slice(0, 200)}`);
  assert.equal(error.code, code, error.message);
  assert.match(error.message, pattern);
  assert.ok(error.message.length <= MAX_ERROR_MESSAGE_CHARS + 100, `${error.message.length} characters`);
  return error.message;
}

/** The engine still answers: a cheap request comes back. */
async function stillAnswers() {
  const { error } = await call('runs.list', {}, 2000);
  assert.equal(error, undefined);
}

describe('hostile probe-set files and paths (items 1, 2)', () => {
  it('probes.list answers at once: good sets summarised, the bomb counted not expanded, devices, FIFOs, folders and huge files as error lines', async () => {
    const { result, ms } = await call('probes.list', {});
    assert.ok(ms < 3000, `${ms} ms`);
    const byName = new Map((result as { file: string }[]).map((e) => [path.basename(e.file), e as { error?: string; promptCount?: number }]));
    assert.equal(byName.get('good.json')?.promptCount, 4);
    assert.match(byName.get('bomb.json')!.error!, /templates\[0\]\.text: expands to \{who\} 30 × .* = 656,100,000,000 prompts, more than the 100,000/);
    assert.match(byName.get('zero.json')!.error!, /zero\.json: is a character device, not a file/);
    assert.match(byName.get('fifo.json')!.error!, /fifo\.json: is a named pipe \(FIFO\), not a file/);
    assert.match(byName.get('folder.json')!.error!, /folder\.json: is a folder, not a file/);
    assert.match(byName.get('huge.json')!.error!, /huge\.json: is 3 GiB; a probe set may be at most 2 MiB/);
    await stillAnswers();
  });

  it('probes.expand refuses each with a clear error naming the file, and the engine keeps answering', async () => {
    await refused('probes.expand', { file: 'bomb.json' }, 'failed', /bomb\.json:1: templates\[0\]\.text: expands to .* = 656,100,000,000 prompts/);
    await refused('probes.expand', { file: 'zero.json' }, 'failed', new RegExp(`^probes\\.expand: ${inProbes('zero.json')}: is a character device`));
    await refused('probes.expand', { file: 'fifo.json' }, 'failed', /fifo\.json: is a named pipe \(FIFO\)/);
    await refused('probes.expand', { file: 'folder.json' }, 'failed', /folder\.json: is a folder/);
    await refused('probes.expand', { file: 'huge.json' }, 'failed', /huge\.json: is 3 GiB/);
    await refused('probes.expand', { file: 'good.txt' }, 'failed', /good\.txt: a probe set is a \.json, \.yaml, \.yml file/);
    await stillAnswers();
    assert.equal((await call('probes.expand', { file: 'good.json' })).result !== undefined, true);
  });

  it('refuses paths outside the probes and uploads folders before opening them, echoing nothing of the file', async () => {
    for (const file of ['/dev/zero', secret, '../secret.json', `${probesDir}/../secret.json`, '/etc/passwd', probesDir, '.']) {
      const message = await refused('probes.expand', { file }, 'bad-request', /probe sets are read only from the probes folder .* or uploaded/);
      assert.doesNotMatch(message, /TOP-SECRET/);
    }
    await refused('probes.expand', { file: 'a\0b.json' }, 'bad-request', /NUL/);
    await stillAnswers();
  });

  it('uploads: a picked set is validated, stored in the uploads folder, listed and usable by its stored path', async () => {
    const text = 'type: templates\nid: mine\ntitle: Mine\nchat: false\nclasses: [{id: a}]\ntemplates: [{text: "t2 {x}"}]\nslots: {x: [t5, t6, t7]}\n';
    const { result } = await call('probes.expand', { file: 'mine.yaml', text });
    const { set, prompts } = result as { set: { file: string; promptCount: number }; prompts: unknown[] };
    assert.equal(set.file, path.join(work, 'uploaded-probes', 'mine.yaml'));
    assert.equal(fs.readFileSync(set.file, 'utf8'), text);
    assert.equal(prompts.length, 3);
    const listed = (await call('probes.list', {})).result as { file: string }[];
    assert.ok(listed.some((e) => e.file === set.file));
    assert.equal(((await call('probes.expand', { file: set.file })).result as { prompts: unknown[] }).prompts.length, 3);

    const broken = await refused('probes.expand', { file: 'broken.json', text: '{"type": "paired",\n"id": 7}' }, 'failed', /\nbroken\.json:2: id: expected a string, got 7$/);
    assert.ok(broken.startsWith('probes.expand: broken.json:1: missing "title"\n'), broken);
    await refused('probes.expand', { file: 'bomb.json', text: JSON.stringify(bomb) }, 'failed', /bomb\.json:1: templates\[0\]\.text: expands to/);
    for (const name of ['../up.json', 'sub/up.json', '.hidden.json', 'up.txt', 'up']) {
      await refused('probes.expand', { file: name, text: JSON.stringify(good) }, 'bad-request', /an uploaded probe set is named by a bare file name/);
    }
    assert.deepEqual(fs.readdirSync(path.join(work, 'uploaded-probes')), ['mine.yaml'], 'nothing refused was stored');
  });
});

describe('with a model loaded: checkpoint folders (item 2) and masks (item 6)', () => {
  let identity: Record<string, unknown>;
  before(async () => {
    identity = ((await callHost(host, 'model.open', {})).identity) as unknown as Record<string, unknown>;
  });
  const NO_MASK: ExpertMask = { mode: 'backfill', forceWeight: 'natural', entries: [] };
  const moteMask = (entries: unknown[]) => JSON.stringify({ format: 'mote-mask', version: 1, model: identity, mode: 'backfill', forceWeight: 'natural', entries });

  it('a checkpoint folder with a FIFO or a device for a file is refused before it is read, keeping the loaded model', async () => {
    const planted = path.join(work, 'planted-model');
    fs.mkdirSync(planted);
    execFileSync('mkfifo', [path.join(planted, 'config.json')]);
    await refused('model.estimate', { dir: planted }, 'failed', /config\.json: is a named pipe \(FIFO\), not a file; a checkpoint folder holds regular files/);
    await refused('model.open', { dir: planted }, 'failed', /config\.json: is a named pipe/);
    fs.rmSync(path.join(planted, 'config.json'));
    fs.symlinkSync('/dev/zero', path.join(planted, 'model.safetensors'));
    fs.copyFileSync(path.join(GOLDEN, 'config.json'), path.join(planted, 'config.json'));
    await refused('model.open', { dir: planted }, 'failed', /model\.safetensors: is a character device/);
    assert.deepEqual(((await call('model.current', {})).result as { identity: unknown }).identity, identity, 'the loaded model was kept');
    await stillAnswers();
  });

  it('probe runs and evaluations read probe sets from the same two folders only', async () => {
    await refused('probes.run', { file: secret, generateTokens: 0 }, 'bad-request', /secret\.json: probe sets are read only from the probes folder/);
    await refused('evaluate', { file: '/dev/zero', mask: NO_MASK, randomControls: 0, dose: 0, maxTokens: 1 }, 'bad-request', /\/dev\/zero: probe sets are read only/);
    await refused('probes.run', { file: 'fifo.json', generateTokens: 0 }, 'failed', /fifo\.json: is a named pipe/);
    await refused('probes.run', { file: 'bomb.json', generateTokens: 0 }, 'failed', /656,100,000,000 prompts/);
    assert.deepEqual((await call('runs.list', {})).result, [], 'nothing was recorded');
  });

  it('bundle.export and evaluate check the mask against the model (bundle.export accepted any before)', async () => {
    const bad: ExpertMask = { ...NO_MASK, entries: [{ layer: 1, expert: 0, state: 'off' }, { layer: 0, expert: 99, state: 'off' }] };
    await refused('bundle.export', { mask: bad, seed: 0, outputs: [] }, 'failed',
      /the mask does not fit the loaded model \(qwen2_moe, 3 layers × 8 experts, k=2\): entries\[0\]: layer 1 is a dense layer.*entries\[1\]: expert 99 is out of range/);
    await refused('evaluate', { file: 'good.json', mask: bad, randomControls: 0, dose: 0, maxTokens: 1 }, 'failed', /the mask does not fit the loaded model/);
    const ok = await call('bundle.export', { mask: { ...NO_MASK, entries: [{ layer: 0, expert: 1, state: 'off' }] }, seed: 0, outputs: [] });
    assert.equal(ok.error, undefined);
  });

  it('mask.import caps entries like every other mask (100 000), on the count', async () => {
    const entries = Array.from({ length: 150_000 }, (_, i) => ({ layer: 0, expert: i % 8, state: 'off' }));
    await refused('mask.import', { json: moteMask(entries), source: 'many.json' }, 'failed', /^mask\.import: many\.json: entries: 150,000 entries, more than the 100,000 a mask may hold$/);
    const layerConfigs = { 0: { expert_ids: Array.from({ length: 150_000 }, (_, i) => i % 8), mode: 'deactivate' } };
    await refused('mask.import', { json: JSON.stringify({ layer_configs: layerConfigs }), source: 'many.json' }, 'failed', /150,000 expert ids, more than the 100,000 entries/);
  });

  it('a 43 MB invalid mask gets a short error (it got 79 MB), and so does a 1.2 M-entry mask anywhere', async () => {
    const entry = '{"layer": "x", "expert": -1, "state": "on"}, ';
    const huge = `{"format": "mote-mask", "version": 1, "entries": [${entry.repeat(Math.ceil(43e6 / entry.length))}{}]}`;
    assert.ok(huge.length > 43e6);
    const message = await refused('mask.import', { json: huge, source: 'huge.json' }, 'bad-request', /invalid params for mask\.import: json: /);
    assert.ok(message.length < 300, message);
    const million = Array.from({ length: 1_200_000 }, () => ({ layer: 0, expert: 0, state: 'off' as const }));
    const short = await refused('generate', { prompt: 't5', chat: false, mask: { ...NO_MASK, entries: million }, maxTokens: 1, seed: 0, temperature: 0, topK: 0, topP: 1 },
      'bad-request', /invalid params for generate: mask\.entries: /);
    assert.ok(short.length < 300, short);
    await stillAnswers();
  });

  it('every problem of an invalid mask is counted, the first ones listed', async () => {
    const invalid = Array.from({ length: 100_000 }, () => ({ layer: 'x', expert: 0, state: 'off' }));
    const message = await refused('mask.import', { json: moteMask(invalid), source: 'bad.json' }, 'failed',
      /^mask\.import: bad\.json: entries\[0\]\.layer: expected a non-negative integer; .*; entries\[19\]\.layer: expected a non-negative integer; … and 99,980 more problems$/);
    assert.ok(message.length < 2000, `${message.length}`);
    const misfit = Array.from({ length: 100_000 }, (_, i) => ({ layer: 7, expert: i % 8, state: 'off' }));
    await refused('mask.import', { json: moteMask(misfit), source: 'misfit.json' }, 'failed',
      /misfit\.json does not fit the loaded model .*entries\[19\]: layer 7 is out of range .*; … and 99,980 more problems$/);
    const steering = Array.from({ length: 100_000 }, (_, i) => ({ layer: 1, expert: i % 8, state: 'off' as const }));
    await refused('generate', { prompt: 't5', chat: false, mask: { ...NO_MASK, entries: steering }, maxTokens: 1, seed: 0, temperature: 0, topK: 0, topP: 1 },
      'failed', /mask does not fit this model .*; … and 99,980 more problems$/);
  });

  it('an EasySteer config with 100 000 ids in one layer imports in linear time', async () => {
    const ids = Array.from({ length: 100_000 }, (_, i) => i % 8);
    const { result, ms } = await call('mask.import', { json: JSON.stringify({ layer_configs: { 0: { expert_ids: ids, mode: 'deactivate' } } }) });
    assert.ok(ms < 3000, `${ms} ms`);
    assert.equal((result as { mask: ExpertMask }).mask.entries.length, 8);
  });

  it('error texts from oversized fields are clipped: a 1 MB source name or architecture', async () => {
    await refused('mask.import', { json: '{}', source: 'x'.repeat(1000) }, 'bad-request', /source: Too big/);
    const message = await refused('mask.import', { json: JSON.stringify({ format: 'mote-mask', version: 1, model: { ...identity, architecture: 'A'.repeat(1_000_000) }, mode: 'backfill', forceWeight: 'natural', entries: [] }) },
      'failed', /made for A+…, the model is qwen2_moe/);
    assert.ok(message.length < 500, `${message.length}`);
    const generated = await call('generate', { prompt: 't5', chat: false, mask: NO_MASK, maxTokens: 2, seed: 0, temperature: 0, topK: 0, topP: 1 });
    assert.equal((generated.result as { ids: number[] }).ids.length, 2, 'the engine still generates');
  });
});
