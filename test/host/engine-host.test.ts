import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { EngineHost, type Emit } from '../../engine/host/engine-host.ts';
import { callHost, CallError, type HostEvent } from '../../engine/host/local-client.ts';
import { loadTokenizer } from '../../engine/model/tokenizer.ts';
import type { EngineMessage } from '../../engine/protocol/messages.ts';
import type { ExpertMask } from '../../engine/protocol/types.ts';
import { testCacheDir } from '../helpers/engine-run.ts';
import { sharedFolder } from '../helpers/golden.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const GOLDEN = sharedFolder('golden', 'qwen2_moe-f32');
const MIXTRAL = sharedFolder('golden', 'mixtral-f32');
const expected = JSON.parse(fs.readFileSync(path.join(GOLDEN, 'expected.json'), 'utf8')) as { prompt_text: string; generated_ids: number[] };

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-host-'));
const probesDir = path.join(work, 'probes');
fs.mkdirSync(probesDir);
const words = (from: number, n: number) => Array.from({ length: n }, (_, i) => `t${from + i}`);
fs.writeFileSync(path.join(probesDir, 'tiny.json'), JSON.stringify({
  id: 'tiny', title: 'tiny world', type: 'templates', chat: false,
  classes: [{ id: 'a' }, { id: 'b' }],
  templates: [{ text: 't2 t3 {x} t4' }],
  slots: { x: { a: words(10, 6), b: words(30, 6) } },
  classifier: { rules: [{ label: 'a', phrases: ['t7'] }], otherwise: 'b' },
}));
fs.writeFileSync(path.join(probesDir, 'broken.yaml'), 'id: [unclosed\n');

const dbFile = path.join(work, 'mote.db');
// The golden checkpoint stands in for the demo model, so model.open without a folder is exercised too.
const host = new EngineHost({ demoModelDir: GOLDEN, probesDir, dbFile, cacheDir: testCacheDir, threads: 1 });
after(() => host.dispose());

const NO_MASK: ExpertMask = { mode: 'backfill', forceWeight: 'natural', entries: [] };
/** Greedy from this one-token prompt runs to 250 tokens without meeting <eos>. */
const LONG = { prompt: 't5', chat: false, mask: NO_MASK, maxTokens: 250, seed: 0, temperature: 0, topK: 0, topP: 1 };

/** Sends raw messages through one client and collects everything the host answers. */
function client() {
  const received: EngineMessage[] = [];
  const emit: Emit = (m) => received.push(m);
  return { received, emit, send: (message: unknown) => host.handle(message, emit) };
}

async function rejects(call: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(call, (err: CallError) => {
    assert.ok(err instanceof CallError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('engine host', () => {
  it('answers malformed messages with bad-request or unknown-method and keeps working', async () => {
    const c = client();
    c.send('not an object');
    c.send(42);
    c.send([{ id: 1 }]);
    c.send(null);
    c.send({ method: 'model.current', params: {} });
    c.send({ id: 1.5, method: 'model.current', params: {} });
    c.send({ cancel: 'x' });
    host.handleText('{"id": 2, "method"', c.emit);
    c.send({ id: 3, method: 'model.current', params: {}, extra: true });
    c.send({ id: 4, method: 'no.such', params: {} });
    c.send({ id: 5, method: 'runs.get', params: { runId: 'one' } });
    c.send({ id: 6, method: 'model.current', params: { unexpected: 1 } });
    c.send({ id: 7, method: 'generate', params: { prompt: '' } });
    c.send({ id: 8, method: 'toString', params: {} });
    c.send({ id: 9, method: 'model.current' });
    await settle();
    const replies = c.received.map((m) => ('id' in m && !('event' in m) && !m.ok ? [m.id, m.error.code, m.error.message] : m));
    const codes = replies.map((r) => (Array.isArray(r) ? `${r[0]} ${r[1]}` : 'ok'));
    assert.deepEqual(codes, [
      '-1 bad-request', '-1 bad-request', '-1 bad-request', '-1 bad-request', '-1 bad-request', '-1 bad-request', '-1 bad-request',
      '-1 bad-request', '3 bad-request', '4 unknown-method', '5 bad-request', '6 bad-request', '7 bad-request',
      '8 unknown-method', '9 bad-request',
    ]);
    const message = (id: number) => (replies.find((r) => Array.isArray(r) && r[0] === id) as string[])[2];
    assert.match(message(3), /extra/);
    assert.match(message(5), /runs\.get: runId: .*number/);
    assert.match(message(6), /unexpected/);
    assert.match(message(7), /prompt: .*; mask: /);

    c.received.length = 0;
    c.send({ id: 10, method: 'model.current', params: {} });
    await settle();
    assert.deepEqual(c.received, [{ id: 10, ok: true, result: null }]);
  });

  it('says no-model for jobs that need a model before one is open', async () => {
    await rejects(callHost(host, 'generate', LONG), 'no-model', /no model is loaded/);
    await rejects(callHost(host, 'mask.export', { mask: NO_MASK, format: 'mote' }), 'no-model', /model\.open/);
  });

  it('opens the demo model with build progress, and refuses a folder that is not a checkpoint without unloading it', async () => {
    const events: HostEvent[] = [];
    const info = await callHost(host, 'model.open', {}, (e) => events.push(e));
    assert.equal(info.demo, true);
    assert.equal(info.architecture, 'qwen2_moe');
    assert.deepEqual(info.moeLayers, [0, 2]);
    assert.deepEqual([info.experts, info.topK, info.layers], [8, 2, 3]);
    assert.equal(info.hasChatTemplate, true);
    assert.deepEqual(info.identity, { architecture: 'qwen2_moe', layers: 3, experts: 8, topK: 2, checkpoint: info.checkpoint, precision: 'f32' });
    assert.equal(info.precision, 'f32', 'auto takes float32 when it fits');
    assert.ok(info.memory.total > info.memory.weights && info.memory.context === info.contextLength);
    assert.deepEqual([info.heads, info.kvHeads, info.headDim], [4, 2, 8]);
    assert.ok(events.every((e) => e.event === 'build.progress'));

    const missing = path.join(work, 'no-model-here');
    await rejects(callHost(host, 'model.open', { dir: missing }), 'failed', new RegExp(`${missing} does not exist`));
    assert.equal((await callHost(host, 'model.current', {}))?.folder, GOLDEN);
    assert.equal((await callHost(host, 'model.open', { dir: GOLDEN })).checkpoint, info.checkpoint);

    // The memory guard refuses before the loaded model is let go; the estimate says what each precision needs.
    const estimate = await callHost(host, 'model.estimate', { dir: GOLDEN });
    assert.deepEqual(estimate.estimates.map((e) => e.precision), ['f32', 'int8', 'int4']);
    assert.equal(estimate.context, info.contextLength);
    process.env.MOTE_MEMORY_LIMIT = String(info.memory.total / 2);
    try {
      await rejects(callHost(host, 'model.open', { dir: GOLDEN, precision: 'int8' }), 'failed', /int8 needs [\d.]+ (MiB|GiB|KiB|B)? ?.*available/);
      assert.equal((await callHost(host, 'model.current', {}))?.precision, 'f32', 'the loaded model is still loaded');
      assert.equal((await callHost(host, 'model.estimate', { dir: GOLDEN })).auto, null, 'nothing fits under the limit');
    } finally {
      delete process.env.MOTE_MEMORY_LIMIT;
    }
  });

  it('generates like the golden reference, streaming every token with its routing', async () => {
    const events: HostEvent[] = [];
    const result = await callHost(host, 'generate', { ...LONG, prompt: expected.prompt_text, maxTokens: 8 }, (e) => events.push(e));
    assert.deepEqual(result.ids, expected.generated_ids);
    assert.equal(result.reason, 'max-tokens');
    const tokens = events.flatMap((e) => (e.event === 'generate.token' ? [e.data] : []));
    assert.deepEqual(tokens.map((t) => t.id), result.ids);
    assert.deepEqual(tokens.map((t) => t.index), result.ids.map((_, i) => i));
    assert.equal(tokens.map((t) => t.text).join(''), result.text);
    for (const t of tokens) {
      assert.deepEqual(t.routing?.map((r) => r.layer), [0, 2]);
      assert.ok(t.routing!.every((r) => r.experts.length === 2 && r.weights.length === 2));
    }
  });

  it('sends the prompt\'s tokens and routing before the first token, as the reference routes them', async () => {
    const golden = JSON.parse(fs.readFileSync(path.join(GOLDEN, 'expected.json'), 'utf8')) as
      { prompt_ids: number[]; routing_full_sequence: { layer: number; selected: number[][] }[] };
    const events: HostEvent[] = [];
    await callHost(host, 'generate', { ...LONG, prompt: expected.prompt_text, maxTokens: 4 }, (e) => events.push(e));
    assert.equal(events[0].event, 'generate.prompt', 'the prompt event comes first');
    const prompt = events[0].event === 'generate.prompt' ? events[0].data : assert.fail('no prompt event');
    assert.equal(events.filter((e) => e.event === 'generate.prompt').length, 1);
    assert.deepEqual(prompt.ids, golden.prompt_ids);
    const tokenizer = await loadTokenizer(GOLDEN, JSON.parse(fs.readFileSync(path.join(GOLDEN, 'config.json'), 'utf8')));
    assert.deepEqual(prompt.tokens, golden.prompt_ids.map((id) => tokenizer.decode([id])));
    assert.equal(prompt.routing?.length, golden.prompt_ids.length);
    // Experts as a set per token: the order of near-equal weights is not part of the contract.
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    prompt.routing!.forEach((layers, t) => {
      assert.deepEqual(layers.map((r) => r.layer), golden.routing_full_sequence.map((g) => g.layer));
      layers.forEach((r, l) => assert.deepEqual(sorted(r.experts), sorted(golden.routing_full_sequence[l].selected[t]), `prompt token ${t}, layer ${r.layer}`));
    });
  });

  it('steers generation with a mask: off experts never route a token', async () => {
    const mask: ExpertMask = { mode: 'backfill', forceWeight: 'natural', entries: [{ layer: 0, expert: 6, state: 'off' }, { layer: 2, expert: 4, state: 'forced' }] };
    const events: HostEvent[] = [];
    const result = await callHost(host, 'generate', { ...LONG, prompt: expected.prompt_text, maxTokens: 8, mask }, (e) => events.push(e));
    assert.equal(result.ids.length, 8);
    for (const e of events) {
      if (e.event !== 'generate.token') continue;
      assert.ok(!e.data.routing![0].experts.includes(6), 'layer 0 expert 6 is off');
      assert.ok(e.data.routing![1].experts.includes(4), 'layer 2 expert 4 is forced');
    }
    await rejects(callHost(host, 'generate', { ...LONG, mask: { ...mask, entries: [{ layer: 1, expert: 0, state: 'off' }] } }), 'failed', /layer 1 is not a MoE layer/);
  });

  it('cancels a running generation at the next token, and a queued one at once', async () => {
    const c = client();
    const cancelOnFirstToken: Emit = (m) => {
      c.emit(m);
      if ('event' in m && m.event === 'generate.token') host.handle({ cancel: 1 }, cancelOnFirstToken);
    };
    host.handle({ id: 1, method: 'generate', params: LONG }, cancelOnFirstToken);
    c.send({ id: 2, method: 'generate', params: LONG });
    c.send({ cancel: 2 });
    await settle();
    while (!c.received.some((m) => 'id' in m && m.id === 1 && !('event' in m))) await settle();
    const replies = c.received.filter((m) => !('event' in m));
    assert.deepEqual(replies, [
      { id: 2, ok: false, error: { code: 'cancelled', message: 'cancelled' } },
      { id: 1, ok: false, error: { code: 'cancelled', message: 'cancelled' } },
    ], 'the queued request leaves before the running one ends');
    assert.deepEqual(c.received.flatMap((m) => ('event' in m ? [m.event] : [])), ['generate.prompt', 'generate.token'], 'no token after the cancel');
    const again = await callHost(host, 'generate', { ...LONG, maxTokens: 3 });
    assert.equal(again.ids.length, 3, 'the host keeps working');
  });

  it('refuses a request id that is still running for the same client', async () => {
    const c = client();
    c.send({ id: 5, method: 'generate', params: LONG });
    c.send({ id: 5, method: 'model.current', params: {} });
    c.send({ cancel: 5 });
    while (c.received.filter((m) => !('event' in m)).length < 2) await settle();
    const replies = c.received.filter((m) => !('event' in m));
    assert.match(JSON.stringify(replies[0]), /"code":"bad-request".*already in use by a running generate/);
    assert.equal((replies[1] as { error: { code: string } }).error.code, 'cancelled');
  });

  const mask: ExpertMask = {
    mode: 'backfill', forceWeight: 'max',
    entries: [{ layer: 0, expert: 3, state: 'off' }, { layer: 2, expert: 5, state: 'forced' }, { layer: 0, expert: 1, state: 'forced' }],
  };
  const sorted = (entries: ExpertMask['entries']) => [...entries].sort((a, b) => a.layer - b.layer || a.expert - b.expert);

  it('exports and re-imports a mask in our format', async () => {
    const out = await callHost(host, 'mask.export', { mask, name: 'refusal experts', format: 'mote' });
    assert.equal(out.fileName, 'refusal-experts.mote-mask.json');
    const file = JSON.parse(out.json);
    assert.equal(file.format, 'mote-mask');
    assert.deepEqual(file.model, (await callHost(host, 'model.current', {}))!.identity);
    assert.equal(file.model.precision, 'f32', 'the precision the mask was found at travels with it');
    const back = await callHost(host, 'mask.import', { json: out.json, source: out.fileName });
    assert.deepEqual(back, { mask, name: 'refusal experts', warnings: [] });
    const int4 = await callHost(host, 'mask.import', { json: JSON.stringify({ ...file, model: { ...file.model, precision: 'int4' } }), source: 'q.json' });
    assert.deepEqual(int4.warnings, ['q.json was made at precision int4, the model runs at f32']);
    await rejects(callHost(host, 'mask.import', { json: JSON.stringify({ ...file, model: { ...file.model, precision: 'fp8' } }), source: 'q.json' }),
      'failed', /model\.precision: expected one of f32, bf16-as-f32, int8, int4, got "fp8"/);
  });

  it('exports and re-imports a mask in EasySteer layer_configs form', async () => {
    const out = await callHost(host, 'mask.export', { mask, format: 'easysteer' });
    assert.equal(out.fileName, 'mask.easysteer.json');
    assert.deepEqual(JSON.parse(out.json), {
      layer_configs: {
        0: { mode: 'activate', activate_ids: [1], deactivate_ids: [3] },
        2: { mode: 'activate', expert_ids: [5] },
      },
    });
    const back = await callHost(host, 'mask.import', { json: out.json });
    assert.deepEqual({ ...back.mask, entries: sorted(back.mask.entries) }, { ...mask, entries: sorted(mask.entries) });
    assert.equal(back.name, null);
    assert.match(back.warnings.join('\n'), /names no model/);

    const legacy = await callHost(host, 'mask.import', { json: JSON.stringify({ layer_configs: { 2: { expert_ids: [0, 7], mode: 'suppress' } } }) });
    assert.deepEqual(legacy.mask.entries, [{ layer: 2, expert: 0, state: 'off' }, { layer: 2, expert: 7, state: 'off' }]);
    assert.match(legacy.warnings[0], /legacy mode "suppress" read as "deactivate"/);

    await rejects(callHost(host, 'mask.export', { mask: { ...mask, mode: 'drop' }, format: 'easysteer' }), 'failed', /backfill mode/);
    await rejects(callHost(host, 'mask.export', { mask: { ...mask, forceWeight: 'natural' }, format: 'easysteer' }), 'failed', /force weight to max/);
  });

  it('says exactly what of an imported mask does not fit the model', async () => {
    const info = (await callHost(host, 'model.current', {}))!;
    const moteFile = (entries: unknown[], model: object = {}) => JSON.stringify({
      format: 'mote-mask', version: 1, model: { ...info.identity, ...model }, mode: 'backfill', forceWeight: 'natural', entries,
    });
    const importing = (json: string) => callHost(host, 'mask.import', { json, source: 'm.json' });
    await rejects(importing(moteFile([], { architecture: 'mixtral', experts: 16 })), 'failed', /m\.json does not fit the loaded model: made for mixtral, the model is qwen2_moe; made for 16 experts/);
    await rejects(importing(moteFile([
      { layer: 7, expert: 0, state: 'off' },
      { layer: 1, expert: 0, state: 'off' },
      { layer: 0, expert: 8, state: 'off' },
      { layer: 2, expert: 0, state: 'forced' }, { layer: 2, expert: 1, state: 'forced' }, { layer: 2, expert: 2, state: 'forced' },
    ])), 'failed', new RegExp([
      'm\\.json does not fit the loaded model \\(qwen2_moe, 3 layers × 8 experts, k=2\\): ',
      'entries\\[0\\]: layer 7 is out of range \\(the model has 3 layers, 0…2\\); ',
      'entries\\[1\\]: layer 1 is a dense layer without experts \\(MoE layers: 0, 2\\); ',
      'entries\\[2\\]: expert 8 is out of range \\(the model has 8 experts per layer, 0…7\\); ',
      'layer 2: 3 experts forced, but the model selects only k=2 per token',
    ].join('')));
    await rejects(importing(JSON.stringify({ layer_configs: { 1: { expert_ids: [0], mode: 'deactivate' }, 0: { expert_ids: [9] } } })), 'failed',
      /layer_configs\["0"\]\.expert_ids\[0\]: expert 9 is out of range.*layer_configs\["1"\]\.expert_ids\[0\]: layer 1 is a dense layer/);
    await rejects(importing(JSON.stringify({ layer_configs: { 0: { expert_ids: [1], mode: 'soft', lambda: 0.5 }, x: {} } })), 'failed',
      /"soft" shifts router logits.*layer_configs\["x"\]: the key must be a decoder-layer index/);
    await rejects(importing(JSON.stringify({ layer_configs: { 0: { activate_ids: [0, 1, 2] } } })), 'failed', /layer 0: 3 experts forced, but the model selects only k=2/);
    await rejects(importing('{"entries": '), 'failed', /m\.json: not valid JSON/);
    await rejects(importing('{"experts": [1]}'), 'failed', /neither a MoTE mask .*, an EasySteer moe_router config .* nor a SteerMoE matrix/);
  });

  it('lists and expands probe sets, a broken file with its error', async () => {
    const sets = await callHost(host, 'probes.list', {});
    assert.equal(sets.length, 2);
    assert.match((sets[0] as { error: string }).error, /broken\.yaml/);
    assert.deepEqual(sets[1], { file: path.join(probesDir, 'tiny.json'), id: 'tiny', title: 'tiny world', type: 'templates', classes: ['a', 'b'], promptCount: 12 });
    const expanded = await callHost(host, 'probes.expand', { file: 'tiny.json' });
    assert.deepEqual(expanded.set, sets[1]);
    // Token counts come from the loaded model's tokenizer: the set is not chat, so the text as encoded with BOS.
    const info = (await callHost(host, 'model.current', {}))!;
    const tokenizer = await loadTokenizer(GOLDEN, JSON.parse(fs.readFileSync(path.join(GOLDEN, 'config.json'), 'utf8')));
    const tokens = (text: string) => tokenizer.encode(text, { addSpecialTokens: true }).length;
    assert.deepEqual(expanded.tokenized, {
      checkpoint: info.checkpoint, contextLength: info.contextLength,
      unknownTokens: { token: '<unk>', unknown: 0, total: 48, promptsWithUnknown: 0, prompts: 12, examples: [], warning: null },
    });
    assert.deepEqual(expanded.prompts[0], { index: 0, class: 'a', text: 't2 t3 t10 t4', tokens: tokens('t2 t3 t10 t4') });
    assert.deepEqual(expanded.prompts[11], { index: 11, class: 'b', text: 't2 t3 t35 t4', tokens: tokens('t2 t3 t35 t4') });
    await rejects(callHost(host, 'probes.expand', { file: 'missing.json' }), 'failed', /missing\.json.*cannot read/);
  });

  it('runs a probe set and reads it back: heatmap, ranking, expert prompts, routing, CSV, bundle', async () => {
    const events: HostEvent[] = [];
    const run = await callHost(host, 'probes.run', { file: 'tiny.json', generateTokens: 2 }, (e) => events.push(e));
    assert.deepEqual(run, { runId: run.runId, status: 'finished', resumedFrom: 0, recorded: 12 });
    const progress = events.flatMap((e) => (e.event === 'probe.progress' ? [e.data] : []));
    assert.deepEqual(progress.map((p) => p.done), Array.from({ length: 13 }, (_, i) => i));
    assert.deepEqual(events.at(-1), { event: 'probe.finished', data: { runId: run.runId, status: 'finished' } });

    const [summary] = await callHost(host, 'runs.list', {});
    assert.equal(summary.id, run.runId);
    assert.deepEqual([summary.status, summary.recorded, summary.promptCount, summary.classes, summary.architecture], ['finished', 12, 12, ['a', 'b'], 'qwen2_moe']);
    const got = await callHost(host, 'runs.get', { runId: run.runId });
    assert.equal(got.prompts.length, 12);
    assert.equal(got.prompts[0].text, 't2 t3 t10 t4');

    const map = await callHost(host, 'runs.heatmap', { runId: run.runId, span: 'prompt' });
    assert.deepEqual([map.layers, map.experts, map.classes.map((c) => c.class)], [[0, 2], 8, ['a', 'b']]);
    for (const c of map.classes) {
      assert.deepEqual([c.tokens, c.prompts], [24, 6]);
      for (let row = 0; row < 2; row++) {
        const sum = (xs: number[]) => xs.slice(row * 8, row * 8 + 8).reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(sum(c.rate) - 2) < 1e-9 && Math.abs(sum(c.mean) - 2) < 1e-9, 'k experts per token in every layer');
      }
    }

    const ranking = await callHost(host, 'runs.rank', { runId: run.runId, target: 'a', method: 'mote', span: 'prompt' });
    assert.equal(ranking.scores.length, 16);
    const top = ranking.scores[0];
    const a = map.classes[0];
    const cell = map.layers.indexOf(top.layer) * 8 + top.expert;
    assert.ok(Math.abs(top.meanTarget - a.mean[cell]) < 1e-12, 'the ranking reads the same counts as the heatmap');

    const hits = await callHost(host, 'runs.expertPrompts', { runId: run.runId, layer: top.layer, expert: top.expert, span: 'prompt' });
    assert.ok(hits.length > 0 && hits.some((h) => h.class === 'a'));
    for (const h of hits) {
      assert.equal(h.promptTokens, 4);
      assert.equal(h.tokens.length, 6, 'prompt and generated tokens');
      assert.equal(h.tokens.slice(0, 4).join(''), got.prompts[h.idx].text, 'pieces join to the decoded text, spaces included');
      assert.ok(h.positions.length > 0 && h.positions.every((p) => p < 4));
    }
    await rejects(callHost(host, 'runs.expertPrompts', { runId: run.runId, layer: 1, expert: 0, span: 'prompt' }), 'bad-request', /layer 1 is not a MoE layer/);

    const routing = await callHost(host, 'runs.promptRouting', { runId: run.runId, idx: 7 });
    assert.deepEqual([routing.class, routing.promptTokens, routing.layers, routing.k], ['b', 4, [0, 2], 2]);
    assert.deepEqual(routing.tokens.slice(0, 4), ['t2', ' t3', ' t31', ' t4']);
    assert.equal(routing.selected.length, routing.tokens.length * 2 * 2);
    assert.ok(routing.selected.every((e) => e >= 0 && e < 8));
    await rejects(callHost(host, 'runs.promptRouting', { runId: run.runId, idx: 99 }), 'not-found', /no recorded prompt 99/);
    await rejects(callHost(host, 'runs.heatmap', { runId: 999, span: 'prompt' }), 'not-found', /run 999 does not exist/);

    const csv = await callHost(host, 'rankings.csv', { runId: run.runId, target: 'a', method: 'mote', span: 'prompt' });
    assert.equal(csv.fileName, `run-${run.runId}-f32-a-mote-prompt.csv`);
    const lines = csv.csv.trimEnd().split('\n');
    assert.equal(lines[0], 'rank,layer,expert,score,rate_target,rate_other,mean_target,mean_other,p,q');
    assert.equal(lines.length, 17);
    assert.deepEqual(lines[1].split(',').slice(0, 4).map(Number), [1, top.layer, top.expert, top.score]);

    const bundle = await callHost(host, 'bundle.export', { runId: run.runId, mask, seed: 3, outputs: [{ label: 'steered', text: 't9 t9' }] });
    const parsed = JSON.parse(bundle.json);
    assert.equal(parsed.format, 'mote-bundle');
    assert.equal(parsed.app.version, JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    assert.equal(parsed.probeSet.id, 'tiny');
    assert.equal(parsed.run.id, run.runId);
    assert.deepEqual([parsed.mask.format, parsed.mask.entries, parsed.seed, parsed.outputs], ['mote-mask', mask.entries, 3, [{ label: 'steered', text: 't9 t9' }]]);
    assert.equal(parsed.model.checkpoint, summary.modelHash);
  });

  it('cancels a probe run: the reply says cancelled and the run can be resumed', async () => {
    const received: EngineMessage[] = [];
    const emit: Emit = (m) => {
      received.push(m);
      if ('event' in m && m.event === 'probe.progress' && 'done' in m.data && m.data.done === 3) host.handle({ cancel: 1 }, emit);
    };
    host.handle({ id: 1, method: 'probes.run', params: { file: 'tiny.json', generateTokens: 0, forceNew: true } }, emit);
    while (!received.some((m) => !('event' in m))) await settle();
    const reply = received.find((m) => !('event' in m)) as { ok: true; result: { runId: number; status: string; recorded: number } };
    assert.deepEqual([reply.ok, reply.result.status, reply.result.recorded], [true, 'cancelled', 3]);
    const resumed = await callHost(host, 'probes.run', { file: 'tiny.json', generateTokens: 0, resumeRunId: reply.result.runId });
    assert.deepEqual([resumed.status, resumed.resumedFrom, resumed.recorded], ['finished', 3, 9]);
  });

  it('opening another model cancels the jobs running on the current one', async () => {
    const c = client();
    c.send({ id: 1, method: 'generate', params: LONG });
    const mixtral = await callHost(host, 'model.open', { dir: MIXTRAL });
    assert.equal(mixtral.architecture, 'mixtral');
    assert.equal(mixtral.demo, false);
    assert.deepEqual(c.received.filter((m) => !('event' in m)), [{ id: 1, ok: false, error: { code: 'cancelled', message: 'cancelled' } }]);
    const qwenMask = JSON.stringify({ format: 'mote-mask', version: 1, model: { architecture: 'qwen2_moe', layers: 3, experts: 8, topK: 2, checkpoint: 'x' }, mode: 'backfill', forceWeight: 'natural', entries: [] });
    await rejects(callHost(host, 'mask.import', { json: qwenMask }), 'failed', /made for qwen2_moe, the model is mixtral/);
  });
});
