import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { migrate, type Migration } from '../../engine/store/migrate.ts';

const createTable = (version: number, table: string): Migration => ({
  version, name: `create ${table}`, up: (db) => db.exec(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY)`),
});
const tables = (db: Database.Database) =>
  db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all();
const version = (db: Database.Database) => db.pragma('user_version', { simple: true });

describe('migrate', () => {
  it('runs only the pending migrations and records the last version', () => {
    const db = new Database(':memory:');
    migrate(db, [createTable(1, 'a')]);
    migrate(db, [createTable(1, 'a'), createTable(2, 'b'), createTable(3, 'c')]);
    assert.deepEqual(tables(db), ['a', 'b', 'c']);
    assert.equal(version(db), 3);
  });

  it('applies pending migrations all or none', () => {
    const db = new Database(':memory:');
    const failing: Migration = { version: 2, name: 'broken', up: (d) => d.exec('CREATE TABLE a (id)') };
    assert.throws(() => migrate(db, [createTable(1, 'a'), failing]), /table a already exists/);
    assert.deepEqual(tables(db), []);
    assert.equal(version(db), 0);
  });

  it('refuses a list whose versions do not count up from 1', () => {
    const db = new Database(':memory:');
    assert.throws(() => migrate(db, [createTable(1, 'a'), createTable(3, 'c')]), /create c has version 3, expected 2/);
    assert.deepEqual(tables(db), []);
  });

  it('refuses a database newer than the newest migration', () => {
    const db = new Database(':memory:');
    db.pragma('user_version = 2');
    assert.throws(() => migrate(db, [createTable(1, 'a')]), /schema version 2, newer than .* supports \(1\)/);
    assert.deepEqual(tables(db), []);
  });
});
