import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openDatabase } from '../../../engine/store/database.ts';
import { migrate } from '../../../engine/store/migrate.ts';
import { MIGRATIONS } from '../../../engine/store/migrations/index.ts';
import { createRun, deleteRun, getRun, listEvaluations, listRuns, recordPrompt, saveEvaluation, setRunNote } from '../../../engine/store/runs.ts';
import { newRun, randomPrompt, tempDir } from '../helpers.ts';

const dir = tempDir();
let files = 0;
const newFile = () => path.join(dir, `notes-${files++}.sqlite`);
const SHAPE = { moeLayers: [1, 3], numExperts: 8, topK: 2 };
const ROW_TABLES = ['prompts', 'prompt_crcs', 'span_counts'];

describe('migration 004 (run notes)', () => {
  it('gives runs recorded before it an empty note', () => {
    const db = new Database(':memory:');
    migrate(db, MIGRATIONS.slice(0, 3));
    db.prepare(`INSERT INTO runs (created_at, model_dir, model_hash, model_json, set_id, set_path, set_json, generate_tokens, record_logits,
      status, prompt_count, moe_layers, num_experts, top_k) VALUES ('2025-01-01', '/m', 'h', '{}', 's', 'p', '{}', 0, 0, 'finished', 1, '[1]', 8, 2)`).run();
    migrate(db, MIGRATIONS.slice(0, 4));
    assert.equal(db.pragma('user_version', { simple: true }), 4);
    assert.deepEqual(db.prepare('SELECT id, note FROM runs').all(), [{ id: 1, note: '' }]);
    assert.throws(() => db.prepare('UPDATE runs SET note = NULL').run(), /NOT NULL/);
  });

  it('keeps a note per run; deleting a run removes its rows and nothing else, and unlinks its evaluations', () => {
    const db = openDatabase(newFile());
    const kept = createRun(db, newRun(SHAPE));
    const gone = createRun(db, newRun(SHAPE));
    for (const runId of [kept, gone]) for (let idx = 0; idx < 3; idx++) recordPrompt(db, runId, randomPrompt(runId, idx, 2, 2, 8), SHAPE.moeLayers, SHAPE.topK);
    const evaluation = saveEvaluation(db, { runId: gone, modelHash: 'sha256:abc', setId: 'refusal-demo', mask: { mode: 'backfill', forceWeight: 'natural', entries: [] }, result: {} });
    setRunNote(db, kept, 'baseline, before the retrain');
    assert.equal(getRun(db, kept)!.note, 'baseline, before the retrain');
    assert.equal(getRun(db, gone)!.note, '');
    const rowsOf = (runId: number) => ROW_TABLES.map((t) => db.prepare(`SELECT count(*) FROM ${t} WHERE run_id = ?`).pluck().get(runId));
    const keptRows = rowsOf(kept);
    assert.ok(rowsOf(gone).every((n) => (n as number) > 0));

    deleteRun(db, gone);
    assert.deepEqual(listRuns(db).map((r) => r.id), [kept]);
    assert.deepEqual(rowsOf(gone), [0, 0, 0]);
    assert.deepEqual(rowsOf(kept), keptRows);
    assert.deepEqual(listEvaluations(db).map((e) => [e.id, e.runId]), [[evaluation, null]]);
    assert.throws(() => deleteRun(db, gone), new RegExp(`there is no run ${gone}`));
    assert.throws(() => setRunNote(db, gone, 'x'), new RegExp(`there is no run ${gone}`));
    db.close();
  });
});
