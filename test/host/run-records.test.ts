import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { EngineHost } from '../../engine/host/engine-host.ts';
import { callHost, CallError } from '../../engine/host/local-client.ts';
import type { EngineMessage } from '../../engine/protocol/messages.ts';
import { testCacheDir } from '../helpers/engine-run.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const GOLDEN = path.resolve(ROOT, '../shared/golden/qwen2_moe-f32');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-run-records-'));
const probesDir = path.join(work, 'probes');
fs.mkdirSync(probesDir);
const SET = {
  id: 'tiny', title: 'tiny world', type: 'templates', chat: false, classes: [{ id: 'a' }, { id: 'b' }],
  templates: [{ text: 't2 t3 {x} t4' }], slots: { x: { a: ['t10', 't11'], b: ['t30'] } },
};
const shippedText = JSON.stringify(SET, null, 2);
fs.writeFileSync(path.join(probesDir, 'tiny.json'), shippedText);
const host = new EngineHost({ demoModelDir: GOLDEN, probesDir, dbFile: path.join(work, 'mote.db'), cacheDir: testCacheDir, threads: 1 });
after(async () => {
  await host.dispose();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('engine host: probe-set text, repeated runs, run notes and deletion', () => {
  it('probes.source gives a set\'s text; probes.check summarises it or lists its problems by line without storing anything', async () => {
    const source = await callHost(host, 'probes.source', { file: 'tiny.json' });
    assert.deepEqual(source, { file: path.join(probesDir, 'tiny.json'), name: 'tiny.json', text: shippedText, shipped: true });
    await assert.rejects(callHost(host, 'probes.source', { file: '/etc/passwd' }), (err: CallError) => err.code === 'bad-request' && /outside both/.test(err.message));

    assert.deepEqual(await callHost(host, 'probes.check', { file: 'tiny-edited.json', text: shippedText }), {
      ok: true, id: 'tiny', title: 'tiny world', type: 'templates', promptCount: 3, classes: [{ class: 'a', prompts: 2 }, { class: 'b', prompts: 1 }],
    });
    const yaml = ['id: tiny', 'title: tiny', 'type: templates', 'classes:', '  - id: a', 'templates:', '  - text: "{y}"', 'slots:', '  x: [one]', ''].join('\n');
    const check = await callHost(host, 'probes.check', { file: 'draft.yaml', text: yaml });
    assert.deepEqual(check, { ok: false, total: 1, problems: [{ path: 'templates[0].text', line: 7, message: '{y} has no slot (slots: "x"; write {{ and }} for literal braces)' }] });
    const notJson = await callHost(host, 'probes.check', { file: 'draft.json', text: '{"id": ' });
    assert.equal(notJson.ok, false);
    assert.ok(!fs.existsSync(path.join(work, 'uploaded-probes')), 'checking stores nothing');
  });

  it('a finished identical run is reported, not repeated; forceNew records it again; notes and deletion', async () => {
    await callHost(host, 'model.open', {});
    const first = await callHost(host, 'probes.run', { file: 'tiny.json', generateTokens: 1 });
    assert.equal(first.status, 'finished');
    const again = await callHost(host, 'probes.run', { file: 'tiny.json', generateTokens: 1 });
    assert.deepEqual(again, { runId: first.runId, status: 'finished', resumedFrom: 3, recorded: 0, alreadyRecorded: { finishedAt: again.alreadyRecorded!.finishedAt } });
    const [listed] = await callHost(host, 'runs.list', {});
    assert.equal(again.alreadyRecorded!.finishedAt, listed.finishedAt);
    assert.equal((await callHost(host, 'runs.list', {})).length, 1);
    // Other options are another experiment: recorded.
    const longer = await callHost(host, 'probes.run', { file: 'tiny.json', generateTokens: 2 });
    assert.notEqual(longer.runId, first.runId);
    assert.equal(longer.alreadyRecorded, undefined);
    const forced = await callHost(host, 'probes.run', { file: 'tiny.json', generateTokens: 1, forceNew: true });
    assert.deepEqual([forced.status, forced.recorded, forced.alreadyRecorded], ['finished', 3, undefined]);

    const noted = await callHost(host, 'runs.annotate', { runId: first.runId, note: '  first try  ' });
    assert.equal(noted.note, 'first try');
    assert.equal((await callHost(host, 'runs.get', { runId: first.runId })).run.note, 'first try');

    assert.deepEqual(await callHost(host, 'runs.delete', { runId: forced.runId }), { runId: forced.runId });
    assert.deepEqual((await callHost(host, 'runs.list', {})).map((r) => r.id).sort(), [first.runId, longer.runId].sort());
    await assert.rejects(callHost(host, 'runs.get', { runId: forced.runId }), (err: CallError) => err.code === 'not-found');
    await assert.rejects(callHost(host, 'runs.delete', { runId: forced.runId }), (err: CallError) => err.code === 'not-found' && /does not exist/.test(err.message));
    await assert.rejects(callHost(host, 'runs.annotate', { runId: forced.runId, note: 'x' }), (err: CallError) => err.code === 'not-found');
  });

  it('refuses to delete the run being recorded; it can be deleted once cancelled', async () => {
    const long = { ...SET, id: 'long', slots: { x: { a: Array.from({ length: 30 }, (_, i) => `t${10 + i}`), b: ['t30'] } } };
    fs.writeFileSync(path.join(probesDir, 'long.json'), JSON.stringify(long));
    const received: EngineMessage[] = [];
    const emit = (m: EngineMessage) => received.push(m);
    host.handle({ id: 1, method: 'probes.run', params: { file: 'long.json', generateTokens: 64 } }, emit);
    const started = () => received.find((m) => 'event' in m && m.event === 'probe.progress' && (m.data as { done: number }).done > 0);
    while (!started()) await new Promise((resolve) => setTimeout(resolve, 10));
    const runId = (started() as { data: { runId: number } }).data.runId;
    await assert.rejects(callHost(host, 'runs.delete', { runId }), (err: CallError) => err.code === 'bad-request' && err.message === `runs.delete: run ${runId} is being recorded: cancel it before deleting it`);
    host.handle({ cancel: 1 }, emit);
    while (!received.some((m) => 'ok' in m)) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(await callHost(host, 'runs.delete', { runId }), { runId });
  });
});
