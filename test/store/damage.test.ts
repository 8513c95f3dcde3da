/**
 * Issue 11, case 5: a damaged database file. Before: 64 damaged bytes inside a routing BLOB passed integrity_check
 * and were served as expert ids −32761…31149; with a damaged page, `rank` and `probe run` went on and kept writing.
 * Now every read checks what it reads (each BLOB against its CRC32, expert ids against the run), any damage stops
 * with an error naming the file and what to do, nothing more is written to a damaged file, and `mote db check`
 * (checkDatabase) lists what is damaged. Undamaged data still reads.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { rankExperts } from '../../engine/analysis/rank.ts';
import { checkDatabase } from '../../engine/store/check.ts';
import { crc32 } from '../../engine/store/crc32.ts';
import { DatabaseDamagedError } from '../../engine/store/damage.ts';
import { openDatabase, type WritableDB } from '../../engine/store/database.ts';
import { migrate } from '../../engine/store/migrate.ts';
import { MIGRATIONS } from '../../engine/store/migrations/index.ts';
import { toBlob } from '../../engine/store/routing-blobs.ts';
import {
  createRun, getCounts, getPromptRouting, getPrompts, getRun, listRuns, promptsRoutedTo, recordPrompt, saveEvaluation, setRunStatus,
} from '../../engine/store/runs.ts';
import { damage, damageFixture, offsetOf, pageOf, PROMPTS, sha, SHAPE } from './damage-helpers.ts';
import { newRun, randomPrompt, tempDir } from './helpers.ts';

const dir = tempDir();
let files = 0;
const fixture = () => damageFixture(path.join(dir, `damaged-${files++}.sqlite`));

/** The error every damage gives: the file, what is damaged, and what to do. */
function damagedError(file: string, problem: RegExp) {
  return (err: Error) => {
    assert.ok(err instanceof DatabaseDamagedError, `${err.name}: ${err.message}`);
    assert.ok(err.message.startsWith(`${file}: the database is damaged (`), err.message);
    assert.match(err.message, problem);
    assert.ok(err.message.includes(`mote db check --db ${file}`), err.message);
    assert.match(err.message, /restore it from a backup, or start a new database with --db/);
    return true;
  };
}

const anotherPrompt = (idx: number) => randomPrompt(6, idx, SHAPE.moeLayers.length, SHAPE.topK, SHAPE.numExperts);

/** Every way of writing through `db` is refused, and the file stays as it was. */
function assertNoWrites(db: WritableDB, file: string, runId: number, problem: RegExp): void {
  const before = sha(file);
  assert.throws(() => recordPrompt(db, runId, anotherPrompt(PROMPTS), SHAPE.moeLayers, SHAPE.topK), damagedError(file, problem));
  assert.throws(() => createRun(db, newRun(SHAPE)), damagedError(file, problem));
  assert.throws(() => setRunStatus(db, runId, 'failed', 'x'), damagedError(file, problem));
  assert.throws(() => saveEvaluation(db, { runId, modelHash: 'h', setId: 's', mask: { mode: 'drop', forceWeight: 'natural', entries: [] }, result: {} }), damagedError(file, problem));
  assert.equal(sha(file), before);
}

describe('a damaged database', () => {
  it('64 damaged bytes in a routing BLOB pass integrity_check, but fail the BLOB’s CRC32 on every read', () => {
    const { file, runId, prompts } = fixture();
    const db0 = new Database(file, { readonly: true });
    const stored = getPromptRouting(db0 as never, runId, 50)!;
    db0.close();
    damage(file, offsetOf(file, toBlob(stored.selected)) + 8, 64);
    const raw = new Database(file, { readonly: true });
    assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok', 'SQLite cannot see damage inside a BLOB');
    raw.close();
    const before = sha(file);

    const db = openDatabase(file);
    const crcError = damagedError(file, /run \d+, prompt 50: BLOB selected fails its CRC32 check \(stored 0x[0-9a-f]{8}, read 0x[0-9a-f]{8}\)/);
    assert.throws(() => getPromptRouting(db, runId, 50), crcError);
    assert.throws(() => promptsRoutedTo(db, runId, 0, 3, 'prompt'), crcError);
    // Nothing lost: the other prompts and the counts still read, as recorded.
    assert.deepEqual(getPromptRouting(db, runId, 49)!.selected, Int16Array.from(prompts[49].selected));
    assert.equal(getPrompts(db, runId).length, PROMPTS);
    assert.ok(rankExperts(db, runId, 'harmful', 'mote', 'prompt').scores.length > 0);
    assertNoWrites(db, file, runId, /prompt 50: BLOB selected fails its CRC32 check/);
    db.close();
    assert.equal(sha(file), before, 'nothing was written to the damaged file');

    const report = checkDatabase(file);
    assert.equal(report.ok, false);
    assert.deepEqual(report.integrity, []);
    assert.deepEqual(report.damagedRuns, [runId]);
    assert.deepEqual(report.damaged, [{ runId, what: 'prompt 50', problem: report.damaged[0].problem }]);
    assert.match(report.damaged[0].problem, /BLOB selected fails its CRC32 check/);
  });

  it('expert ids outside −1…E−1 are refused even with a matching CRC32', () => {
    const { file, runId } = fixture();
    const raw = new Database(file);
    const selected = Int16Array.from(getRawSelected(raw, runId, 7));
    selected[5] = 31149;
    const blob = toBlob(selected);
    raw.prepare('UPDATE prompts SET selected = ? WHERE run_id = ? AND idx = 7').run(blob, runId);
    raw.prepare('UPDATE prompt_crcs SET selected = ? WHERE run_id = ? AND idx = 7').run(crc32(blob), runId);
    raw.close();
    const db = openDatabase(file);
    const rangeError = damagedError(file, /run \d+, prompt 7: expert id 31149 at token 0, layer 2, slot 1 is outside −1…15/);
    assert.throws(() => getPromptRouting(db, runId, 7), rangeError);
    assert.throws(() => promptsRoutedTo(db, runId, 1, 0, 'prompt'), rangeError);
    db.close();
    const report = checkDatabase(file);
    assert.deepEqual(report.damaged.map((d) => [d.runId, d.what]), [[runId, 'prompt 7']]);
    assert.match(report.damaged[0].problem, /expert id 31149/);
  });

  it('a damaged page of prompts stops every write before it starts; rankings from the intact counts stay right', () => {
    const { file, runId } = fixture();
    const sound = openDatabase(file);
    const ranking = rankExperts(sound, runId, 'harmful', 'mote', 'prompt');
    sound.close();
    damage(file, pageOf(file, 'prompts', 'leaf') + 100, 512);
    const before = sha(file);

    // Before: the write went through (SQLite only sees a damaged page it touches). Now the whole file is checked
    // before the first write through a handle.
    const db = openDatabase(file);
    assertNoWrites(db, file, runId, /PRAGMA quick_check|SQLite: database disk image is malformed/);
    assert.deepEqual(rankExperts(db, runId, 'harmful', 'mote', 'prompt'), ranking, 'the counts a ranking reads are intact');
    assert.throws(() => promptsRoutedTo(db, runId, 0, 3, 'prompt'), damagedError(file, /SQLite: database disk image is malformed/));
    db.close();
    // A fresh handle (the next `mote probe run`) is refused too.
    const again = openDatabase(file);
    assert.throws(() => recordPrompt(again, runId, anotherPrompt(PROMPTS), SHAPE.moeLayers, SHAPE.topK), DatabaseDamagedError);
    again.close();
    assert.equal(sha(file), before);

    const report = checkDatabase(file);
    assert.equal(report.ok, false);
    assert.ok(report.integrity.length > 0);
    assert.ok(report.damaged.some((d) => d.runId === runId && /^prompt \d+$/.test(d.what)), JSON.stringify(report.damaged));
  });

  it('a damaged page of the counts every listing and ranking reads is refused on open', () => {
    const { file } = fixture();
    damage(file, pageOf(file, 'span_counts', 'leaf'), 4096);
    const before = sha(file);
    assert.throws(() => openDatabase(file), damagedError(file, /PRAGMA quick_check\("span_counts"\): /));
    assert.equal(sha(file), before);
    const report = checkDatabase(file);
    assert.equal(report.ok, false);
    assert.ok(report.integrity.length > 0);
    assert.ok(report.damaged.some((d) => / counts of class /.test(d.what) || d.what === 'the span_counts table'), JSON.stringify(report.damaged));
  });

  it('a damaged count BLOB fails its CRC32 in rankings, heatmaps and the next recorded prompt', () => {
    const { file, runId } = fixture();
    const raw = new Database(file, { readonly: true });
    const hits = raw.prepare("SELECT hits FROM span_counts WHERE run_id = ? AND span = 'prompt' AND class = 'harmful'").pluck().get(runId) as Buffer;
    raw.close();
    damage(file, offsetOf(file, hits) + 16, 64);
    const db = openDatabase(file);
    const crcError = damagedError(file, /run \d+, prompt counts of class "harmful": BLOB hits fails its CRC32 check/);
    assert.throws(() => getCounts(db, runId, 'prompt'), crcError);
    assert.throws(() => rankExperts(db, runId, 'benign', 'rd', 'prompt'), crcError);
    assert.ok(getCounts(db, runId, 'last').classes.length > 0, 'other spans still read');
    db.close();
    const fresh = openDatabase(file);
    const before = sha(file);
    const harmful = Array.from({ length: 20 }, (_, i) => anotherPrompt(PROMPTS + i)).find((p) => p.class === 'harmful' && p.promptTokens > 0)!;
    assert.throws(() => recordPrompt(fresh, runId, harmful, SHAPE.moeLayers, SHAPE.topK), crcError);
    fresh.close();
    assert.equal(sha(file), before);
    assert.match(checkDatabase(file).damaged.map((d) => `${d.what}: ${d.problem}`).join('\n'), /prompt counts of class "harmful": BLOB hits fails its CRC32 check/);
  });

  it('counts that disagree with the recorded routing are reported by the check', () => {
    const { file, runId } = fixture();
    const raw = new Database(file);
    raw.prepare("UPDATE span_counts SET tokens = tokens + 1 WHERE run_id = ? AND span = 'last' AND class = 'benign'").run(runId);
    raw.close();
    const report = checkDatabase(file);
    assert.deepEqual(report.damaged.map((d) => d.what), ['last counts of class "benign"']);
    assert.match(report.damaged[0].problem, /disagrees with the recorded routing/);
  });

  it('a truncated file is refused, naming it', () => {
    const { file } = fixture();
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    assert.throws(() => {
      const db = openDatabase(file);
      try {
        listRuns(db).forEach((run) => getCounts(db, run.id, 'prompt'));
        recordPrompt(db, 1, anotherPrompt(PROMPTS), SHAPE.moeLayers, SHAPE.topK);
      } finally {
        db.close();
      }
    }, damagedError(file, /./));
    assert.equal(checkDatabase(file).ok, false);
  });

  it('damaged JSON in a run’s row is damage, named by run', () => {
    const { file, runId } = fixture();
    const raw = new Database(file);
    raw.prepare("UPDATE runs SET moe_layers = '[0, 1' WHERE id = ?").run(runId);
    raw.close();
    const db = openDatabase(file);
    assert.throws(() => listRuns(db), damagedError(file, new RegExp(`run ${runId}: stored JSON does not parse`)));
    assert.throws(() => getRun(db, runId), DatabaseDamagedError);
    db.close();
    assert.deepEqual(checkDatabase(file).damaged.map((d) => [d.runId, d.what]), [[runId, 'the run']]);
  });

  it('a damaged database that needs migrating is not migrated', () => {
    const file = path.join(dir, `old-damaged-${files++}.sqlite`);
    const v2 = new Database(file);
    v2.pragma('foreign_keys = ON');
    migrate(v2, MIGRATIONS.slice(0, 2));
    const runId = createRun(v2 as WritableDB, newRun(SHAPE));
    const insert = v2.prepare(`INSERT INTO prompts (run_id, idx, class, text, prompt_tokens, output_text, selected, token_ids, weights)
      VALUES (?, ?, 'a', ?, 1, '', ?, ?, ?)`);
    for (let idx = 0; idx < 300; idx++) {
      insert.run(runId, idx, 'x'.repeat(200), toBlob(new Int16Array(8)), toBlob(new Int32Array(1)), toBlob(new Float32Array(8)));
    }
    v2.close();
    damage(file, pageOf(file, 'prompts', 'leaf') + 100, 512);
    const before = sha(file);
    assert.throws(() => openDatabase(file), damagedError(file, /PRAGMA quick_check/));
    assert.equal(sha(file), before, 'neither migrated nor switched to WAL');
    const report = checkDatabase(file);
    assert.equal(report.schemaVersion, 2);
    assert.equal(report.checksums, false);
    assert.equal(report.ok, false);
  });

  it('a sound database checks ok', () => {
    const { file } = fixture();
    const report = checkDatabase(file);
    assert.deepEqual({ ...report, file: undefined }, {
      file: undefined, schemaVersion: MIGRATIONS.length, ok: true, integrity: [], runs: 1, prompts: PROMPTS, damagedRuns: [], damaged: [], checksums: true,
    });
  });
});

function getRawSelected(db: Database.Database, runId: number, idx: number): Int16Array {
  const blob = db.prepare('SELECT selected FROM prompts WHERE run_id = ? AND idx = ?').pluck().get(runId, idx) as Buffer;
  return new Int16Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
}
