import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openDatabase, type WritableDB } from '../../engine/store/database.ts';
import {
  createRun, finishedPromptIndices, getCounts, getPromptRouting, getPrompts, getRun, listEvaluations, listRuns,
  promptsRoutedTo, recordPrompt, saveEvaluation, setRunStatus, type PromptRecord,
} from '../../engine/store/runs.ts';
import { assertCountsMatchBlobs, assertSameCounts, newRun, randomPrompt, tempDir } from './helpers.ts';

const dir = tempDir();
let files = 0;
const open = () => openDatabase(path.join(dir, `runs-${files++}.sqlite`));

/** Decoder layers 1 and 3 are MoE (layer 0 and 2 dense), k = 2, 4 experts. */
const SHAPE = { moeLayers: [1, 3], numExperts: 4, topK: 2 };
const record = (db: WritableDB, runId: number, prompt: PromptRecord) => recordPrompt(db, runId, prompt, SHAPE.moeLayers, SHAPE.topK);

/** `routing` is one row per token: [layer 1 slots, layer 3 slots]. */
function prompt(idx: number, cls: string, promptTokens: number, routing: number[][][]): PromptRecord {
  const selected = Int16Array.from(routing.flat(2));
  return {
    idx, class: cls, text: `prompt ${idx}`, tokenIds: Int32Array.from(routing, (_, t) => 100 + t), promptTokens,
    outputText: '', label: null, correct: null, selected, weights: Float32Array.from(selected, (e) => (e < 0 ? 0 : 0.5)),
  };
}

/** Three prompts whose counts are worked out by hand below. */
const HAND = [
  prompt(0, 'a', 3, [
    [[0, 1], [2, -1]],
    [[0, 2], [2, 3]],
    [[1, -1], [3, 0]],
    [[0, 3], [-1, -1]],
    [[3, 0], [1, 2]],
  ]),
  prompt(1, 'a', 1, [
    [[0, -1], [3, 2]],
    [[2, 1], [-1, 0]],
  ]),
  prompt(2, 'b', 2, [
    [[3, 2], [1, -1]],
    [[3, -1], [1, 0]],
  ]),
];

const count = (cls: string, layer: number, expert: number, hits: number, promptRateSum: number) =>
  ({ class: cls, layer, expert, hits, promptRateSum });

describe('runs store', () => {
  it('keeps the precision a run was recorded at; runs from before precisions read as f32', () => {
    const db = open();
    const int8 = createRun(db, newRun(SHAPE));
    const { precision: _precision, ...older } = newRun(SHAPE).model;
    const old = createRun(db, { ...newRun(SHAPE), model: older });
    assert.equal(getRun(db, int8)!.model.precision, 'int8');
    assert.equal(getRun(db, old)!.model.precision, 'f32');
    db.close();
  });

  it('creates, lists, reads and ends runs', () => {
    const db = open();
    const fields = { ...newRun(SHAPE), mask: { mode: 'drop' as const, forceWeight: 'max' as const, entries: [{ layer: 1, expert: 2, state: 'off' as const }] } };
    const first = createRun(db, fields);
    const second = createRun(db, newRun(SHAPE));
    const run = getRun(db, first)!;
    assert.deepEqual({ ...run, createdAt: '' }, { ...fields, id: first, createdAt: '', status: 'running', error: null, finishedAt: null, note: '' });
    assert.ok(!Number.isNaN(Date.parse(run.createdAt)));
    assert.deepEqual(listRuns(db).map((r) => r.id), [second, first]);
    assert.equal(getRun(db, 999), undefined);

    setRunStatus(db, first, 'failed', 'model.onnx: out of memory');
    assert.deepEqual([getRun(db, first)!.status, getRun(db, first)!.error], ['failed', 'model.onnx: out of memory']);
    assert.ok(getRun(db, first)!.finishedAt);
    setRunStatus(db, first, 'running');
    assert.deepEqual([getRun(db, first)!.error, getRun(db, first)!.finishedAt], [null, null]);
    assert.throws(() => setRunStatus(db, 999, 'finished'), { message: `${db.name}: there is no run 999` });
    db.close();
  });

  it('counts each span of hand-worked prompts, skipping dropped slots', () => {
    const db = open();
    const runId = createRun(db, newRun(SHAPE));
    for (const p of HAND) assert.equal(record(db, runId, p), true);

    assertSameCounts(getCounts(db, runId, 'prompt'), {
      classes: [{ class: 'a', tokens: 4, prompts: 2 }, { class: 'b', tokens: 2, prompts: 1 }],
      counts: [
        count('a', 1, 0, 3, 2 / 3 + 1), count('a', 1, 1, 2, 2 / 3), count('a', 1, 2, 1, 1 / 3),
        count('a', 3, 0, 1, 1 / 3), count('a', 3, 2, 3, 2 / 3 + 1), count('a', 3, 3, 3, 2 / 3 + 1),
        count('b', 1, 2, 1, 1 / 2), count('b', 1, 3, 2, 1), count('b', 3, 0, 1, 1 / 2), count('b', 3, 1, 2, 1),
      ],
    });
    assertSameCounts(getCounts(db, runId, 'response'), {
      classes: [{ class: 'a', tokens: 3, prompts: 2 }, { class: 'b', tokens: 0, prompts: 0 }],
      counts: [
        count('a', 1, 0, 2, 1), count('a', 1, 1, 1, 1), count('a', 1, 2, 1, 1), count('a', 1, 3, 2, 1),
        count('a', 3, 0, 1, 1), count('a', 3, 1, 1, 1 / 2), count('a', 3, 2, 1, 1 / 2),
      ],
    });
    assertSameCounts(getCounts(db, runId, 'last'), {
      classes: [{ class: 'a', tokens: 2, prompts: 2 }, { class: 'b', tokens: 1, prompts: 1 }],
      counts: [
        count('a', 1, 0, 1, 1), count('a', 1, 1, 1, 1),
        count('a', 3, 0, 1, 1), count('a', 3, 2, 1, 1), count('a', 3, 3, 2, 2),
        count('b', 1, 3, 1, 1), count('b', 3, 0, 1, 1), count('b', 3, 1, 1, 1),
      ],
    });
    db.close();
  });

  it('ignores a prompt recorded a second time', () => {
    const db = open();
    const runId = createRun(db, newRun(SHAPE));
    for (const p of HAND) record(db, runId, p);
    const before = ['prompt', 'response', 'last'].map((span) => getCounts(db, runId, span as 'prompt'));
    assert.equal(record(db, runId, HAND[0]), false);
    assert.equal(record(db, runId, { ...HAND[2], class: 'a', text: 'changed' }), false);
    assert.deepEqual(['prompt', 'response', 'last'].map((span) => getCounts(db, runId, span as 'prompt')), before);
    assert.equal(getPrompts(db, runId)[2].text, 'prompt 2');
    assert.deepEqual(finishedPromptIndices(db, runId), new Set([0, 1, 2]));
    db.close();
  });

  it('keeps counts equal to a recomputation from the stored routing over many random prompts', () => {
    const db = open();
    const shape = { moeLayers: [0, 2, 5], numExperts: 8, topK: 3 };
    const runId = createRun(db, newRun(shape, 300));
    const order = [...Array(300).keys()].sort((a, b) => ((a * 7919) % 300) - ((b * 7919) % 300));
    for (const idx of [...order, ...order.slice(0, 40)]) {
      recordPrompt(db, runId, randomPrompt(7, idx, 3, 3, 8, idx % 5 === 0), shape.moeLayers, shape.topK);
    }
    assert.equal(finishedPromptIndices(db, runId).size, 300);
    assertCountsMatchBlobs(db, runId);
    db.close();
  });

  it('keeps runs apart', () => {
    const db = open();
    const one = createRun(db, newRun(SHAPE));
    const two = createRun(db, newRun(SHAPE));
    for (const p of HAND) record(db, one, p);
    record(db, two, HAND[1]);
    assert.deepEqual(getCounts(db, two, 'last').classes, [{ class: 'a', tokens: 1, prompts: 1 }]);
    assert.deepEqual(finishedPromptIndices(db, two), new Set([1]));
    assertCountsMatchBlobs(db, one);
    db.close();
  });

  it('returns prompts without routing, and one prompt with its routing decoded', () => {
    const db = open();
    const runId = createRun(db, newRun(SHAPE));
    const logits = Float32Array.from({ length: 5 * 2 * 4 }, (_, i) => i / 8);
    record(db, runId, { ...HAND[0], responseForced: 'Sure.', answer: '42', label: 'refused', correct: false, routerLogits: logits });
    record(db, runId, { ...HAND[2], selected: Int32Array.from(HAND[2].selected), correct: true });
    assert.deepEqual(getPrompts(db, runId, { class: 'a' }), [{
      idx: 0, class: 'a', text: 'prompt 0', responseForced: 'Sure.', answer: '42', promptTokens: 3, outputText: '',
      label: 'refused', correct: false,
    }]);
    assert.deepEqual(getPrompts(db, runId).map((p) => [p.idx, p.correct]), [[0, false], [2, true]]);

    assert.deepEqual(getPromptRouting(db, runId, 0), {
      idx: 0, tokenIds: HAND[0].tokenIds, promptTokens: 3, tokens: 5, moeLayers: [1, 3], k: 2, numExperts: 4,
      selected: HAND[0].selected, weights: HAND[0].weights, routerLogits: logits,
    });
    assert.deepEqual(getPromptRouting(db, runId, 2)!.selected, HAND[2].selected);
    assert.equal(getPromptRouting(db, runId, 2)!.routerLogits, null);
    assert.equal(getPromptRouting(db, runId, 1), undefined);
    db.close();
  });

  it('accepts a last generated token without routing', () => {
    const db = open();
    const runId = createRun(db, newRun(SHAPE));
    const p = { ...HAND[0], tokenIds: Int32Array.of(...HAND[0].tokenIds, 999) };
    record(db, runId, p);
    assert.equal(getPromptRouting(db, runId, 0)!.tokens, 5);
    assert.deepEqual(getCounts(db, runId, 'response').classes, [{ class: 'a', tokens: 2, prompts: 1 }]);
    db.close();
  });

  it('refuses routing of the wrong shape, naming the database and the prompt', () => {
    const db = open();
    const runId = createRun(db, newRun(SHAPE));
    const p = HAND[0];
    const refuses = (bad: PromptRecord, problem: RegExp) => assert.throws(() => record(db, runId, bad), (err: Error) => {
      assert.ok(err.message.startsWith(`${db.name}: cannot record prompt 0 of run ${runId}: `), err.message);
      assert.match(err.message, problem);
      return true;
    });
    refuses({ ...p, selected: p.selected.subarray(1) }, /selected has 19 entries, not a multiple of 2 layers × k 2/);
    refuses({ ...p, weights: p.weights.subarray(4) }, /weights has 16 entries, selected 20/);
    refuses({ ...p, tokenIds: p.tokenIds.subarray(1) }, /5 routed tokens for 3 prompt tokens of 4/);
    refuses({ ...p, promptTokens: 6, tokenIds: new Int32Array(6) }, /5 routed tokens for 6 prompt tokens of 6/);
    refuses({ ...p, routerLogits: new Float32Array(7) }, /routerLogits has 7 entries/);
    refuses({ ...p, selected: Int32Array.from(p.selected, (e) => (e === 3 ? 40_000 : e)) }, /expert 40000 in selected is outside/);
    refuses({ ...p, selected: p.selected.map((e) => (e === 3 ? 4 : e)) }, /expert 4 in selected is outside −1..3/);
    assert.throws(() => recordPrompt(db, 999, p, SHAPE.moeLayers, SHAPE.topK), { message: `${db.name}: there is no run 999` });
    assert.equal(finishedPromptIndices(db, runId).size, 0);
    db.close();
  });

  it('finds the prompts and token positions routed to an expert', () => {
    const db = open();
    const runId = createRun(db, newRun(SHAPE));
    for (const p of HAND) record(db, runId, p);
    assert.deepEqual(promptsRoutedTo(db, runId, 3, 0, 'prompt'), [
      { idx: 0, class: 'a', tokenPositions: [2] }, { idx: 2, class: 'b', tokenPositions: [1] },
    ]);
    assert.deepEqual(promptsRoutedTo(db, runId, 3, 0, 'response'), [{ idx: 1, class: 'a', tokenPositions: [1] }]);
    assert.deepEqual(promptsRoutedTo(db, runId, 1, 0, 'last'), [{ idx: 1, class: 'a', tokenPositions: [0] }]);
    assert.deepEqual(promptsRoutedTo(db, runId, 1, 3, 'prompt'), [{ idx: 2, class: 'b', tokenPositions: [0, 1] }]);
    assert.throws(() => promptsRoutedTo(db, runId, 2, 0, 'prompt'), { message: `${db.name}: layer 2 is not an MoE layer of run ${runId}` });
    assert.throws(() => promptsRoutedTo(db, 999, 1, 0, 'prompt'), { message: `${db.name}: there is no run 999` });
    db.close();
  });

  it('saves and lists evaluations', () => {
    const db = open();
    const runId = createRun(db, newRun(SHAPE));
    const mask = { mode: 'backfill' as const, forceWeight: 'natural' as const, entries: [{ layer: 3, expert: 1, state: 'forced' as const }] };
    const first = saveEvaluation(db, { runId, modelHash: 'sha256:abc', setId: 'refusal-demo', mask, result: { refusalRate: 0.25 } });
    const second = saveEvaluation(db, { runId: null, modelHash: 'sha256:abc', setId: 'other', mask, result: [1, 2] });
    const listed = listEvaluations(db);
    assert.deepEqual(listed.map(({ createdAt: _, ...e }) => e), [
      { id: second, runId: null, modelHash: 'sha256:abc', setId: 'other', mask, result: [1, 2] },
      { id: first, runId, modelHash: 'sha256:abc', setId: 'refusal-demo', mask, result: { refusalRate: 0.25 } },
    ]);
    db.close();
  });
});
