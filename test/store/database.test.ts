import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openDatabase } from '../../engine/store/database.ts';
import { SCHEMA_VERSION } from '../../engine/store/migrations/index.ts';
import { tempDir } from './helpers.ts';

const dir = tempDir();
let files = 0;
const newFile = () => path.join(dir, `store-${files++}.sqlite`);

describe('openDatabase', () => {
  it('creates the file at the current schema version, in WAL mode with foreign keys and a busy timeout', () => {
    const file = newFile();
    const db = openDatabase(file);
    assert.ok(fs.existsSync(file));
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    assert.ok((db.pragma('busy_timeout', { simple: true }) as number) > 0);
    db.close();
  });

  it('reopens a current database without migrating it again', () => {
    const file = newFile();
    openDatabase(file).close();
    const db = openDatabase(file);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    db.close();
  });

  it('refuses a database from a newer app, naming the file and leaving it as it was', () => {
    const file = newFile();
    const raw = new Database(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(() => openDatabase(file), (err: Error) => {
      assert.ok(err.message.startsWith(`${file}: `), err.message);
      assert.match(err.message, new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than .* supports \\(${SCHEMA_VERSION}\\)`));
      return true;
    });
    const after = new Database(file, { readonly: true });
    assert.equal(after.pragma('user_version', { simple: true }), SCHEMA_VERSION + 1);
    assert.equal(after.pragma('journal_mode', { simple: true }), 'delete');
    after.close();
  });

  it('refuses a file that is not a SQLite database, naming it', () => {
    const file = newFile();
    fs.writeFileSync(file, 'probe set, not a database\n'.repeat(100));
    assert.throws(() => openDatabase(file), (err: Error) => err.message.startsWith(`${file}: not a SQLite database (if it was a MoTE Studio database, it is damaged: restore it from a backup, or start a new database with --db)`));
    assert.equal(fs.readFileSync(file, 'utf8'), 'probe set, not a database\n'.repeat(100));
  });

  it('refuses a SQLite database of another application', () => {
    const file = newFile();
    const raw = new Database(file);
    raw.exec('CREATE TABLE messages (id INTEGER PRIMARY KEY)');
    raw.close();
    assert.throws(() => openDatabase(file), { message: `${file}: a SQLite database, but not a MoTE Studio store` });
  });

  it('names the file when it cannot be created', () => {
    const file = path.join(dir, 'missing-folder', 'store.sqlite');
    assert.throws(() => openDatabase(file), (err: Error) => err.message.startsWith(`${file}: cannot open the database`));
  });
});
