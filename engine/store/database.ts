import Database from 'better-sqlite3';
import { migrate } from './migrate.ts';
import { MIGRATIONS } from './migrations/index.ts';

/** A handle query functions may read through. The brands only exist in types: every handle is a plain Database. */
export type ReadableDB = Database.Database & { readonly __readableDb: never };
/** A handle query functions may also write through; openDatabase returns one. */
export type WritableDB = ReadableDB & { readonly __writableDb: never };

const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating if missing) the fTRI store at `file` and migrates it to the app's schema. Refuses a file that is
 * not a SQLite database, a SQLite database of another application, and one from a newer app; errors name the file.
 */
export function openDatabase(file: string): WritableDB {
  let db: Database.Database;
  try {
    db = new Database(file);
  } catch (err) {
    throw new Error(`${file}: cannot open the database (${(err as Error).message})`, { cause: err });
  }
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
    // Migrate before switching to WAL, so a file we refuse is not rewritten.
    migrate(db, MIGRATIONS);
    db.pragma('journal_mode = WAL');
    // In WAL mode NORMAL never corrupts the database and keeps every commit across a process crash (SIGKILL); only
    // an OS crash or power loss can drop the last commits, which a resumed run records again. FULL would fsync once
    // per recorded prompt, which on a small model costs more than running the prompt.
    db.pragma('synchronous = NORMAL');
    return db as WritableDB;
  } catch (err) {
    db.close();
    throw new Error(`${file}: ${describe(err as Error & { code?: string })}`, { cause: err });
  }
}

function describe(err: Error & { code?: string }): string {
  if (err.code === 'SQLITE_NOTADB') return 'not a SQLite database';
  if (err.code?.startsWith('SQLITE_CORRUPT')) return `the database is corrupt (${err.message})`;
  return err.message;
}
