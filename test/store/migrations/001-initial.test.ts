import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { ReadableDB, WritableDB } from '../../../engine/store/database.ts';
import { migrate } from '../../../engine/store/migrate.ts';
import { migration001 } from '../../../engine/store/migrations/001-initial.ts';
import { createRun, finishedPromptIndices, saveEvaluation } from '../../../engine/store/runs.ts';
import { newRun, randomPrompt, tempDir } from '../helpers.ts';
import { getCountsV1, getPromptRoutingV1, openSchema1, recordPromptV1 } from './schema-1.ts';

const dir = tempDir();
const SHAPE = { moeLayers: [1, 3], numExperts: 8, topK: 2 };

function columns(db: Database.Database, table: string): string[] {
  return db.prepare(`SELECT name FROM pragma_table_info(?) ORDER BY cid`).pluck().all(table) as string[];
}

/** A schema-1 database with one run. */
function withRun(name: string): { db: Database.Database; runId: number } {
  const db = openSchema1(path.join(dir, name));
  return { db, runId: createRun(db as WritableDB, newRun(SHAPE)) };
}

describe('migration 001 (initial)', () => {
  it('takes an empty database to version 1 with the fTRI tables', () => {
    const db = new Database(':memory:');
    migrate(db, [migration001]);
    assert.equal(db.pragma('user_version', { simple: true }), 1);
    assert.deepEqual(columns(db, 'runs'), ['id', 'created_at', 'model_dir', 'model_hash', 'model_json', 'set_id',
      'set_path', 'set_json', 'generate_tokens', 'mask_json', 'record_logits', 'status', 'prompt_count', 'error',
      'finished_at', 'moe_layers', 'num_experts', 'top_k']);
    assert.deepEqual(columns(db, 'prompts').sort(), ['answer', 'class', 'correct', 'idx', 'label', 'output_text',
      'prompt_tokens', 'response_forced', 'router_logits', 'run_id', 'selected', 'text', 'token_ids', 'weights']);
    assert.deepEqual(columns(db, 'expert_counts'), ['run_id', 'class', 'span', 'layer', 'expert', 'hits', 'prompt_rate_sum']);
    assert.deepEqual(columns(db, 'class_totals'), ['run_id', 'class', 'span', 'tokens', 'prompts']);
    assert.deepEqual(columns(db, 'evaluations'), ['id', 'run_id', 'created_at', 'model_hash', 'set_id', 'mask_json', 'result_json']);
  });

  it('checks statuses and spans', () => {
    const { db, runId } = withRun('checks.sqlite');
    assert.throws(() => db.prepare("UPDATE runs SET status = 'paused' WHERE id = ?").run(runId), /CHECK constraint failed/);
    assert.throws(() => db.prepare("INSERT INTO class_totals VALUES (?, 'a', 'middle', 1, 1)").run(runId), /CHECK constraint failed/);
    db.close();
  });

  it('deletes a run with its prompts and counts, and keeps its evaluations', () => {
    const { db, runId } = withRun('cascade.sqlite');
    recordPromptV1(db, runId, randomPrompt(1, 0, 2, 2, 8), SHAPE);
    const evaluationId = saveEvaluation(db as WritableDB, { runId, modelHash: 'h', setId: 's', mask: { mode: 'drop', forceWeight: 'natural', entries: [] }, result: {} });
    db.prepare('DELETE FROM runs WHERE id = ?').run(runId);
    for (const table of ['prompts', 'expert_counts', 'class_totals']) {
      assert.equal(db.prepare(`SELECT count(*) FROM ${table}`).pluck().get(), 0, table);
    }
    assert.equal(db.prepare('SELECT run_id FROM evaluations WHERE id = ?').pluck().get(evaluationId), null);
    db.close();
  });

  it('serves the hot queries from the primary keys, without scans or sorting', () => {
    const { db, runId } = withRun('plans.sqlite');
    for (let idx = 0; idx < 20; idx++) recordPromptV1(db, runId, randomPrompt(2, idx, 2, 2, 8), SHAPE);
    const file = db.name;
    db.close();

    const executed: string[] = [];
    const traced = new Database(file, { verbose: (sql) => executed.push(String(sql)) });
    const run = (query: (db: ReadableDB) => unknown) => {
      executed.length = 0;
      query(traced as ReadableDB);
      return executed.filter((sql) => /^\s*SELECT/i.test(sql))
        .map((sql) => (traced.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((row) => row.detail));
    };

    assert.deepEqual(run((d) => finishedPromptIndices(d, runId)), [
      ['SEARCH prompts USING COVERING INDEX sqlite_autoindex_prompts_1 (run_id=?)'],
    ]);
    assert.deepEqual(run((d) => getCountsV1(d, runId, 'prompt')), [
      ['SEARCH class_totals USING PRIMARY KEY (run_id=? AND span=?)'],
      ['SEARCH expert_counts USING PRIMARY KEY (run_id=? AND span=?)'],
    ]);
    assert.deepEqual(run((d) => getPromptRoutingV1(d, runId, 3)), [[
      'SEARCH p USING INDEX sqlite_autoindex_prompts_1 (run_id=? AND idx=?)',
      'SEARCH r USING INTEGER PRIMARY KEY (rowid=?)',
    ]]);
    traced.close();
  });
});
