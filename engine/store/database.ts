import Database from 'better-sqlite3';
import { DatabaseDamagedError, describeCorruption, isCorruptionError, quickCheckProblem } from './damage.ts';
import { migrate } from './migrate.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations/index.ts';

/** A handle query functions may read through. The brands only exist in types: every handle is a plain Database. */
export type ReadableDB = Database.Database & { readonly __readableDb: never };
/** A handle query functions may also write through; openDatabase returns one. */
export type WritableDB = ReadableDB & { readonly __writableDb: never };

const BUSY_TIMEOUT_MS = 5000;

/**
 * The tables every listing, heatmap and ranking reads, checked with PRAGMA quick_check on every open (they are small:
 * a row per run, evaluation, prompt's checksums, and span × class). The prompts table, where the routing BLOBs make up
 * nearly the whole file, is checked in full before the first write (see assertWritable) and by `mote db check`;
 * reads of it check the pages they touch and each BLOB's CRC32.
 */
const CHECKED_ON_OPEN = ['runs', 'span_counts', 'prompt_crcs', 'evaluations'];

/**
 * Opens (creating if missing) the fTRI store at `file` and migrates it to the app's schema. Refuses a file that is
 * not a SQLite database, a SQLite database of another application, one from a newer app, and a damaged one
 * (DatabaseDamagedError, saying what to do); errors name the file. A database that needs migrating is checked
 * in full first, so a damaged file is never rewritten.
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
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > 0 && version < SCHEMA_VERSION) refuseDamage(db, quickCheckProblem(db));
    // Migrate before switching to WAL, so a file we refuse is not rewritten.
    migrate(db, MIGRATIONS);
    for (const table of CHECKED_ON_OPEN) refuseDamage(db, quickCheckProblem(db, table));
    db.pragma('journal_mode = WAL');
    // In WAL mode NORMAL never corrupts the database and keeps every commit across a process crash (SIGKILL); only
    // an OS crash or power loss can drop the last commits, which a resumed run records again. FULL would fsync once
    // per recorded prompt, which on a small model costs more than running the prompt.
    db.pragma('synchronous = NORMAL');
    return db as WritableDB;
  } catch (err) {
    db.close();
    if (err instanceof DatabaseDamagedError) throw err;
    const e = err as Error & { code?: string };
    if (e.code === 'SQLITE_NOTADB') {
      throw new Error(`${file}: not a SQLite database (if it was a MoTE Studio database, it is damaged: restore it from a backup, or start a new database with --db)`, { cause: err });
    }
    if (isCorruptionError(e)) throw new DatabaseDamagedError(file, describeCorruption(e), { cause: err });
    throw new Error(`${file}: ${e.message}`, { cause: err });
  }
}

function refuseDamage(db: Database.Database, problem: string | null): void {
  if (problem) throw new DatabaseDamagedError(db.name, problem);
}
