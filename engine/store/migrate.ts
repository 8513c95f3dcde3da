import type { Database } from 'better-sqlite3';

/** One schema change. Versions start at 1 and go up by one per migration; `up` runs inside a transaction. */
export interface Migration {
  version: number;
  name: string;
  up(db: Database): void;
}

/**
 * Brings the schema to the last migration's version: every pending migration, then PRAGMA user_version, in one
 * IMMEDIATE transaction, so a crash leaves the old version and two processes opening the file never both migrate.
 * Errors do not name the file; the caller adds it.
 */
export function migrate(db: Database, migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
  const latest = migrations.length;
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > latest) {
      throw new Error(`the database has schema version ${current}, newer than this version of MoTE Studio supports `
        + `(${latest}); open it with a newer MoTE Studio`);
    }
    if (current === 0 && db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() !== 0) {
      throw new Error('a SQLite database, but not a MoTE Studio store');
    }
    for (const m of migrations.slice(current)) m.up(db);
    if (current < latest) db.pragma(`user_version = ${latest}`);
  }).immediate();
}
