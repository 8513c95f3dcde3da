import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openDatabase, type ReadableDB, type WritableDB } from '../../../engine/store/database.ts';
import { migrate } from '../../../engine/store/migrate.ts';
import { MIGRATIONS, SCHEMA_VERSION } from '../../../engine/store/migrations/index.ts';
import { crc32 } from '../../../engine/store/crc32.ts';
import { createRun, getCounts, getPromptRouting, promptsRoutedTo, recordPrompt } from '../../../engine/store/runs.ts';
import { SPANS } from '../../../engine/store/span-counts.ts';
import { assertCountsMatchBlobs, newRun, randomPrompt, tempDir } from '../helpers.ts';

const dir = tempDir();
let files = 0;
const newFile = () => path.join(dir, `checksums-${files++}.sqlite`);
const SHAPE = { moeLayers: [1, 3], numExperts: 8, topK: 2 };

const columns = (db: Database.Database, table: string) =>
  db.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').pluck().all(table);

/** A database at schema version 2, with two runs of prompts (one with router logits), written by today's recorder minus the CRC32s. */
function schema2(file: string) {
  const db = new Database(file);
  db.pragma('foreign_keys = ON');
  migrate(db, MIGRATIONS.slice(0, 2));
  // Today's recorder needs the checksum table: record into a copy at version 3, then move the rows over.
  const v3 = openDatabase(newFile());
  const runs = [false, true].map((logits) => {
    const runId = createRun(v3, { ...newRun(SHAPE, 40), recordLogits: logits });
    for (let idx = 0; idx < 30; idx++) recordPrompt(v3, runId, randomPrompt(runId + 20, idx, 2, 2, 8, logits), SHAPE.moeLayers, SHAPE.topK);
    return runId;
  });
  db.exec(`ATTACH '${v3.name}' AS v3`);
  // Columns later migrations added to runs are left behind.
  db.exec(`INSERT INTO runs SELECT ${columns(db, 'runs').join(', ')} FROM v3.runs;
    INSERT INTO prompts SELECT * FROM v3.prompts;
    INSERT INTO span_counts SELECT run_id, span, class, tokens, prompts, hits, rate_sums FROM v3.span_counts;
    INSERT INTO evaluations SELECT * FROM v3.evaluations;`);
  db.exec('DETACH v3');
  const expected = runs.map((runId) => SPANS.map((span) => getCounts(v3, runId, span)));
  v3.close();
  db.close();
  return { runs, expected };
}

describe('migration 003 (checksums)', () => {
  it('adds prompt_crcs, and CRC32 columns before the count BLOBs', () => {
    const db = new Database(':memory:');
    migrate(db, MIGRATIONS.slice(0, 3));
    assert.equal(db.pragma('user_version', { simple: true }), 3);
    assert.deepEqual(columns(db, 'prompt_crcs'), ['run_id', 'idx', 'selected', 'token_ids', 'weights', 'router_logits']);
    assert.deepEqual(columns(db, 'span_counts'), ['run_id', 'span', 'class', 'tokens', 'prompts', 'hits_crc', 'rate_sums_crc', 'hits', 'rate_sums']);
    assert.deepEqual(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'span_counts'").pluck().all(), ['sqlite_autoindex_span_counts_1']);
  });

  it('computes the CRC32s of the BLOBs of a version-2 database, which then reads and records as before', () => {
    const file = newFile();
    const { runs, expected } = schema2(file);
    const db = openDatabase(file);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    const rows = db.prepare(`SELECT p.selected, p.token_ids, p.weights, p.router_logits, c.selected AS c_selected,
      c.token_ids AS c_token_ids, c.weights AS c_weights, c.router_logits AS c_router_logits
      FROM prompts p JOIN prompt_crcs c USING (run_id, idx)`).all() as Record<string, Buffer & number>[];
    assert.equal(rows.length, 60);
    for (const r of rows) {
      for (const blob of ['selected', 'token_ids', 'weights']) assert.equal(r[`c_${blob}`], crc32(r[blob]));
      assert.equal(r.c_router_logits, r.router_logits === null ? null : crc32(r.router_logits));
    }
    assert.ok(rows.some((r) => r.router_logits !== null) && rows.some((r) => r.router_logits === null));
    assert.deepEqual(runs.map((runId) => SPANS.map((span) => getCounts(db, runId, span))), expected);
    for (const runId of runs) {
      assert.ok(getPromptRouting(db, runId, 3)!.selected.length > 0);
      for (let idx = 30; idx < 40; idx++) recordPrompt(db, runId, randomPrompt(runId + 20, idx, 2, 2, 8), SHAPE.moeLayers, SHAPE.topK);
      assertCountsMatchBlobs(db, runId);
    }
    db.prepare('DELETE FROM runs WHERE id = ?').run(runs[0]);
    assert.equal(db.prepare('SELECT count(*) FROM prompt_crcs WHERE run_id = ?').pluck().get(runs[0]), 0, 'checksums go with their prompts');
    db.close();
  });

  it('reads routing and its checksums from the primary keys', () => {
    const file = newFile();
    const db = openDatabase(file);
    const runId = createRun(db, newRun(SHAPE));
    for (let idx = 0; idx < 20; idx++) recordPrompt(db, runId, randomPrompt(2, idx, 2, 2, 8), SHAPE.moeLayers, SHAPE.topK);
    db.close();
    const executed: string[] = [];
    const traced = new Database(file, { verbose: (sql) => executed.push(String(sql)) }) as ReadableDB;
    const plans = (query: () => unknown) => {
      executed.length = 0;
      query();
      return executed.filter((sql) => /^\s*SELECT/i.test(sql))
        .map((sql) => (traced.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((row) => row.detail));
    };
    assert.deepEqual(plans(() => getPromptRouting(traced, runId, 3)), [[
      'SEARCH p USING INDEX sqlite_autoindex_prompts_1 (run_id=? AND idx=?)',
      'SEARCH r USING INTEGER PRIMARY KEY (rowid=?)',
      'SEARCH c USING PRIMARY KEY (run_id=? AND idx=?) LEFT-JOIN',
    ]]);
    assert.deepEqual(plans(() => promptsRoutedTo(traced, runId, 1, 0, 'prompt')).slice(1), [[
      'SEARCH p USING INDEX sqlite_autoindex_prompts_1 (run_id=?)',
      'SEARCH c USING PRIMARY KEY (run_id=? AND idx=?) LEFT-JOIN',
    ]]);
    (traced as unknown as WritableDB).close();
  });
});
