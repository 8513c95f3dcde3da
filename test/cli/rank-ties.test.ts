import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { rankExperts } from '../../engine/analysis/rank.ts';
import { rankingCsv } from '../../engine/host/run-views.ts';
import { parseMaskFile } from '../../engine/steering/mask-file.ts';
import { openDatabase } from '../../engine/store/database.ts';
import { createRun, recordPrompt } from '../../engine/store/runs.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const E = 8;
const K = 2;
const LAYERS = [0, 2];
/** Routed to by every "harmful" token and by no "benign" one: four experts with score +1 and the same p. */
const TIED = [[0, 3], [0, 6], [2, 4], [2, 5]];

function tiedRun(): { file: string; runId: number } {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mote-ties-')), 'r.db');
  const db = openDatabase(file);
  const runId = createRun(db, {
    modelDir: '/m', modelHash: 'h', model: { architecture: 'qwen2_moe', layers: 3, experts: E, topK: K, checkpoint: 'h' },
    setId: 's', setPath: '/s.json', generateTokens: 0, mask: null, recordLogits: false, promptCount: 20, moeLayers: LAYERS, numExperts: E, topK: K,
    set: { type: 'paired', id: 's', title: 's', classes: [{ id: 'harmful' }, { id: 'benign' }], items: [] },
  });
  for (let idx = 0; idx < 20; idx++) {
    const harmful = idx % 2 === 0;
    const tokens = 4;
    const selected = new Int16Array(tokens * LAYERS.length * K);
    for (let t = 0; t < tokens; t++) {
      selected.set(harmful ? [3, 6] : [0, 1], t * LAYERS.length * K);
      selected.set(harmful ? [4, 5] : [0, 1], (t * LAYERS.length + 1) * K);
    }
    recordPrompt(db, runId, {
      idx, class: harmful ? 'harmful' : 'benign', text: `p${idx}`, responseForced: null, answer: null, tokenIds: new Int32Array(tokens), promptTokens: tokens,
      outputText: '', label: null, correct: null, selected, weights: new Float32Array(selected.length).fill(0.5),
    }, LAYERS, K);
  }
  db.close();
  return { file, runId };
}

function rank(file: string, runId: number, ...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/mote.js'), 'rank', '--run', String(runId), '--target', 'harmful', '--db', file, ...args], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const rows = (stdout: string) => stdout.split('\n').filter((l) => /^\d+=?\t/.test(l)).map((l) => l.split('\t'));

describe('mote rank: ties at the cut', () => {
  const { file, runId } = tiedRun();
  const dir = path.dirname(file);

  it('marks tied ranks, says how many tied experts the cut left out and which rule ordered them', () => {
    const out = rank(file, runId, '--top', '3', '--mask-out', path.join(dir, 'cut.json'));
    const table = rows(out);
    assert.deepEqual(table.map((r) => r.slice(0, 4)), [['1=', '0', '3', '+1.000'], ['1=', '0', '6', '+1.000'], ['1=', '2', '4', '+1.000']]);
    assert.ok(out.includes('4 experts tie at rank 1 (score +1.000); 1 of them was left out by the cut (tied experts are listed by smaller p first, then lower layer, then lower expert) — pass --include-ties to include them'), out);
    const mask = parseMaskFile(fs.readFileSync(path.join(dir, 'cut.json'), 'utf8'), 'cut.json');
    assert.deepEqual(mask.entries.map((e) => [e.layer, e.expert]), TIED.slice(0, 3));
    assert.deepEqual(mask.ties && { ...mask.ties, experts: mask.ties.experts.map((e) => [e.layer, e.expert]) },
      { rank: 1, score: 1, experts: TIED, inMask: 3, order: 'smaller p first, then lower layer, then lower expert' });
  });

  it('--include-ties widens the cut to the whole tie, in the table and the mask', () => {
    const out = rank(file, runId, '--top', '3', '--include-ties', '--mask-out', path.join(dir, 'all.json'));
    assert.deepEqual(rows(out).map((r) => [Number(r[1]), Number(r[2])]), TIED);
    assert.ok(out.includes('4 experts tie at rank 1 (score +1.000): all are included (the cut was widened from 3 to 4)'), out);
    const mask = parseMaskFile(fs.readFileSync(path.join(dir, 'all.json'), 'utf8'), 'all.json');
    assert.deepEqual(mask.entries.map((e) => [e.layer, e.expert]), TIED);
    assert.equal(mask.ties?.inMask, 4);
  });

  it('a cut between two ranks reports no tie and writes no ties field; the next rank is 5', () => {
    const out = rank(file, runId, '--top', '4', '--mask-out', path.join(dir, 'clean.json'));
    assert.doesNotMatch(out, /tie at rank/);
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'clean.json'), 'utf8')).ties, undefined);
    const five = rows(rank(file, runId, '--top', '5'));
    assert.equal(five[4][0], '5=', 'the 0-score experts share rank 5');
    const json = JSON.parse(rank(file, runId, '--top', '2', '--json'));
    assert.deepEqual(json.tieAtCut, { rank: 1, size: 4, kept: 2, left: 2, included: false });
    assert.deepEqual(json.scores.map((s: { rank: number }) => s.rank), [1, 1]);
    const db = openDatabase(file);
    const csvRanks = rankingCsv(rankExperts(db, runId, 'harmful', 'mote', 'prompt')).trimEnd().split('\n').slice(1).map((l) => Number(l.split(',')[0]));
    db.close();
    assert.deepEqual(csvRanks.slice(0, 5), [1, 1, 1, 1, 5], 'the CSV carries the same competition ranks');
  });

  it('a mask file with a malformed ties field is refused, naming the field', () => {
    const text = fs.readFileSync(path.join(dir, 'cut.json'), 'utf8');
    const bad = JSON.stringify({ ...JSON.parse(text), ties: { rank: 0, score: 'x', experts: {}, inMask: -1 } });
    assert.throws(() => parseMaskFile(bad, 'bad.json'), /bad\.json: .*ties\.rank: expected a positive integer.*ties\.score: expected a number.*ties\.experts: expected a list.*ties\.inMask.*ties\.order/);
  });
});
