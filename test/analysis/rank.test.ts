import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { rankExperts } from '../../engine/analysis/rank.ts';
import { openDatabase } from '../../engine/store/database.ts';
import { createRun, recordPrompt } from '../../engine/store/runs.ts';

const E = 8;
const K = 2;
const LAYERS = [0, 2];

/** A run in which class "harmful" always routes its prompt tokens to expert 5 of layer 2, "benign" never does. */
function plantedRun() {
  const db = openDatabase(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mote-rank-')), 'r.db'));
  const runId = createRun(db, {
    modelDir: '/m', modelHash: 'h', model: { architecture: 'qwen2_moe', layers: 3, experts: E, topK: K, checkpoint: 'h' },
    setId: 's', setPath: '/s.json', generateTokens: 0, mask: null, recordLogits: false, promptCount: 40, moeLayers: LAYERS, numExperts: E, topK: K,
    set: { type: 'paired', id: 's', title: 's', classes: [{ id: 'harmful' }, { id: 'benign' }], items: [] },
  });
  for (let idx = 0; idx < 40; idx++) {
    const cls = idx % 2 === 0 ? 'harmful' : 'benign';
    const tokens = 3 + (Math.floor(idx / 2) % 4); // the same length mix in both classes
    const selected = new Int16Array(tokens * LAYERS.length * K);
    for (let t = 0; t < tokens; t++) {
      const base = (t * LAYERS.length) * K;
      selected.set([t % 4, t % 2 === 0 ? 6 : 7], base); // layer 0: the same in both classes
      selected.set(cls === 'harmful' ? [5, (t + idx) % 4] : [(t + idx) % 4, 6], base + K); // layer 2
    }
    recordPrompt(db, runId, {
      idx, class: cls, text: `p${idx}`, responseForced: null, answer: null, tokenIds: new Int32Array(tokens), promptTokens: tokens,
      outputText: '', label: null, correct: null, selected, weights: new Float32Array(selected.length).fill(0.5),
    }, LAYERS, K);
  }
  return { db, runId };
}

describe('expert rankings', () => {
  it('MoTE and RD put the planted expert first with a tiny q-value; unrelated experts score about zero', () => {
    const { db, runId } = plantedRun();
    for (const method of ['mote', 'rd'] as const) {
      const r = rankExperts(db, runId, 'harmful', method, 'prompt');
      assert.equal(r.scores.length, LAYERS.length * E);
      assert.deepEqual([r.scores[0].layer, r.scores[0].expert], [2, 5], method);
      assert.ok(Math.abs(r.scores[0].score - 1) < 1e-12, `${method}: harmful always hits it, benign never`);
      assert.equal(r.scores[0].rateTarget, 1);
      assert.equal(r.scores[0].rateOther, 0);
      assert.ok(r.scores[0].q < 1e-10);
      const layer0 = r.scores.filter((s) => s.layer === 0);
      assert.ok(layer0.every((s) => Math.abs(s.score) < 1e-12 && s.q > 0.5), `${method}: layer 0 carries no signal`);
      const last = r.scores.at(-1)!;
      assert.deepEqual([last.layer, last.expert], [2, 6], 'benign-only expert ranks last');
    }
    const last = rankExperts(db, runId, 'harmful', 'mote', 'last');
    assert.equal(last.scores[0].expert, 5);
    assert.throws(() => rankExperts(db, runId, 'nope', 'mote', 'prompt'), /class "nope" is not in run 1's probe set \(classes: harmful, benign\)/);
    assert.throws(() => rankExperts(db, runId, 'harmful', 'mote', 'response'), /no recorded response tokens of class harmful/);
    db.close();
  });
});
