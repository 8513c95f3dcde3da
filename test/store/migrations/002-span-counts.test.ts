import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openDatabase, type ReadableDB, type WritableDB } from '../../../engine/store/database.ts';
import { migrate } from '../../../engine/store/migrate.ts';
import { MIGRATIONS } from '../../../engine/store/migrations/index.ts';
import { createRun, getCounts, recordPrompt } from '../../../engine/store/runs.ts';
import { SPANS } from '../../../engine/store/span-counts.ts';
import { assertCountsMatchBlobs, newRun, randomPrompt, tempDir } from '../helpers.ts';
import { getCountsV1, openSchema1, recordPromptV1 } from './schema-1.ts';

const dir = tempDir();
let files = 0;
const newFile = () => path.join(dir, `span-counts-${files++}.sqlite`);
const SHAPE = { moeLayers: [1, 3], numExperts: 8, topK: 2 };
/** Layers out of decoder order, so layer indices cannot stand in for positions along the BLOBs' layer axis. */
const UNORDERED = { moeLayers: [5, 0, 2], numExperts: 6, topK: 3 };

const tables = (db: Database.Database) =>
  db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all();

describe('migration 002 (span counts)', () => {
  it('replaces expert_counts and class_totals with span_counts', () => {
    const db = new Database(':memory:');
    migrate(db, MIGRATIONS.slice(0, 2));
    assert.equal(db.pragma('user_version', { simple: true }), 2);
    assert.deepEqual(tables(db), ['evaluations', 'prompts', 'runs', 'span_counts']);
    assert.deepEqual(db.prepare('SELECT name, type, "notnull", pk FROM pragma_table_info(?) ORDER BY cid').raw().all('span_counts'), [
      ['run_id', 'INTEGER', 1, 1], ['span', 'TEXT', 1, 2], ['class', 'TEXT', 1, 3], ['tokens', 'INTEGER', 1, 0],
      ['prompts', 'INTEGER', 1, 0], ['hits', 'BLOB', 1, 0], ['rate_sums', 'BLOB', 1, 0],
    ]);
  });

  it('checks spans and deletes counts with their run', () => {
    const db = openDatabase(newFile());
    const runId = createRun(db, newRun(SHAPE));
    // At the current schema, where migration 003 put CRC32 columns before the BLOBs.
    const columns = 'run_id, span, class, tokens, prompts, hits_crc, rate_sums_crc, hits, rate_sums';
    const insert = db.prepare(`INSERT INTO span_counts (${columns}) VALUES (?, ?, 'a', 0, 0, 0, 0, x'', x'')`);
    assert.throws(() => insert.run(runId, 'middle'), /CHECK constraint failed/);
    assert.throws(() => insert.run(999, 'prompt'), /FOREIGN KEY constraint failed/);
    assert.throws(() => db.prepare(`INSERT INTO span_counts (${columns}) VALUES (?, 'last', 'a', 0, 0, 0, 0, NULL, x'')`).run(runId), /NOT NULL/);
    recordPrompt(db, runId, randomPrompt(1, 0, 2, 2, 8), SHAPE.moeLayers, SHAPE.topK);
    assert.equal(db.prepare('SELECT count(*) FROM span_counts').pluck().get(), SPANS.length);
    db.prepare('DELETE FROM runs WHERE id = ?').run(runId);
    assert.equal(db.prepare('SELECT count(*) FROM span_counts').pluck().get(), 0);
    db.close();
  });

  it('serves getCounts and recordPrompt from the primary key, without scans or sorting', () => {
    const file = newFile();
    const db = openDatabase(file);
    const runId = createRun(db, newRun(SHAPE));
    for (let idx = 0; idx < 20; idx++) recordPrompt(db, runId, randomPrompt(2, idx, 2, 2, 8), SHAPE.moeLayers, SHAPE.topK);
    db.close();

    const executed: string[] = [];
    const traced = new Database(file, { verbose: (sql) => executed.push(String(sql)) });
    const plans = (query: () => unknown) => {
      executed.length = 0;
      query();
      return executed.filter((sql) => /^\s*(SELECT|UPDATE)/i.test(sql))
        .map((sql) => (traced.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((row) => row.detail));
    };

    assert.deepEqual(plans(() => getCounts(traced as ReadableDB, runId, 'prompt')), [[
      'SEARCH r USING INTEGER PRIMARY KEY (rowid=?)',
      'SEARCH s USING INDEX sqlite_autoindex_span_counts_1 (run_id=? AND span=?)',
    ]]);
    // A prompt of a class already counted, without response tokens: the response span's row is only looked up.
    const p = randomPrompt(2, 0, 2, 2, 8);
    const withoutResponse = { ...p, idx: 20, tokenIds: p.tokenIds.subarray(0, p.promptTokens),
      selected: p.selected.subarray(0, p.promptTokens * 4), weights: p.weights.subarray(0, p.promptTokens * 4) };
    const byKey = 'INDEX sqlite_autoindex_span_counts_1 (run_id=? AND span=? AND class=?)';
    assert.deepEqual(plans(() => recordPrompt(traced as WritableDB, runId, withoutResponse, SHAPE.moeLayers, SHAPE.topK)), [
      ['SEARCH runs USING INTEGER PRIMARY KEY (rowid=?)'],
      [`SEARCH span_counts USING ${byKey}`], [`SEARCH span_counts USING ${byKey}`], // prompt: read, update
      [`SEARCH span_counts USING COVERING ${byKey}`], // response
      [`SEARCH span_counts USING ${byKey}`], [`SEARCH span_counts USING ${byKey}`], // last: read, update
    ]);
    traced.close();
  });

  it('converts the counts of a database written at version 1', () => {
    const file = newFile();
    const v1 = openSchema1(file);
    const runs = [SHAPE, UNORDERED, SHAPE].map((shape) => ({ shape, id: createRun(v1 as WritableDB, newRun(shape, 80)) }));
    for (const [n, { shape, id }] of runs.slice(0, 2).entries()) {
      for (let idx = 0; idx < 60; idx++) {
        recordPromptV1(v1, id, randomPrompt(n + 3, idx, shape.moeLayers.length, shape.topK, shape.numExperts), shape);
      }
    }
    const before = runs.map(({ id }) => SPANS.map((span) => getCountsV1(v1, id, span)));
    v1.close();

    const db = openDatabase(file);
    assert.deepEqual(tables(db), ['evaluations', 'prompt_crcs', 'prompts', 'runs', 'span_counts']);
    assert.deepEqual(runs.map(({ id }) => SPANS.map((span) => getCounts(db, id, span))), before);
    assert.deepEqual(before[2], SPANS.map(() => ({ classes: [], counts: [] })), 'the run without prompts');

    // A run started before the upgrade resumes after it.
    for (const [n, { shape, id }] of runs.entries()) {
      for (let idx = 50; idx < 80; idx++) {
        recordPrompt(db, id, randomPrompt(n + 3, idx, shape.moeLayers.length, shape.topK, shape.numExperts), shape.moeLayers, shape.topK);
      }
      assertCountsMatchBlobs(db, id);
    }
    db.close();
  });

  it('refuses to convert counts outside their run’s layers and experts, leaving version 1', () => {
    const file = newFile();
    const v1 = openSchema1(file);
    const runId = createRun(v1 as WritableDB, newRun(SHAPE));
    const prompt = randomPrompt(4, 0, 2, 2, 8);
    recordPromptV1(v1, runId, prompt, SHAPE);
    v1.prepare("INSERT INTO expert_counts VALUES (?, ?, 'prompt', 2, 0, 1, 1)").run(runId, prompt.class);
    v1.close();
    assert.throws(() => openDatabase(file), /counts expert 0 of layer 2, outside its MoE layers \[1,3\] × 8 experts/);
    const after = new Database(file, { readonly: true });
    assert.equal(after.pragma('user_version', { simple: true }), 1);
    after.close();
  });
});
