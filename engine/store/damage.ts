import type Database from 'better-sqlite3';

/**
 * A damaged database file: SQLite found a malformed page, or a stored value fails its checks (a BLOB its CRC32, an
 * expert id its range). The message names the file and what to do. Once a handle has met damage, nothing more is
 * written through it.
 */
export class DatabaseDamagedError extends Error {
  readonly code = 'DATABASE_DAMAGED';
  constructor(readonly file: string, readonly problem: string, options?: { cause?: unknown }) {
    super(`${file}: the database is damaged (${problem}). Nothing more is written to it. `
      + `Run \`mote db check --db ${shellQuote(file)}\` to see which runs are affected, then restore it from a backup, `
      + 'or start a new database with --db', options);
    this.name = 'DatabaseDamagedError';
  }
}

/** The damage each handle has met, which every later write through it is refused with. */
const damage = new WeakMap<Database.Database, DatabaseDamagedError>();
/** Handles whose whole file passed PRAGMA quick_check, so they may be written through. */
const checkedForWriting = new WeakSet<Database.Database>();

/** SQLite's result codes for a malformed or truncated file. */
export function isCorruptionError(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' || code === 'SQLITE_IOERR_SHORT_READ');
}

/** Records that `db` is damaged and returns the error to throw. */
export function damaged(db: Database.Database, problem: string, cause?: unknown): DatabaseDamagedError {
  const err = new DatabaseDamagedError(db.name, problem, cause === undefined ? undefined : { cause });
  if (!damage.has(db)) damage.set(db, err);
  return err;
}

/** SQLite's own words for a corruption error. */
export function describeCorruption(err: Error & { code?: string }): string {
  if (err.code === 'SQLITE_NOTADB') return 'not a SQLite database';
  return `SQLite: ${err.message}`;
}

/** Runs a store query; SQLite corruption errors come out as DatabaseDamagedError, and mark the handle damaged. */
export function guarded<T>(db: Database.Database, query: () => T): T {
  try {
    return query();
  } catch (err) {
    if (err instanceof DatabaseDamagedError) {
      if (!damage.has(db)) damage.set(db, err);
      throw err;
    }
    if (isCorruptionError(err)) throw damaged(db, describeCorruption(err), err);
    throw err;
  }
}

/**
 * Throws unless `db` may be written: it has met no damage, and its whole file passed PRAGMA quick_check (run on the
 * first write through each handle; about a second per GB, so it costs nothing next to a probe run). A damaged page
 * anywhere in the file stops the write, even one the write itself would not touch: SQLite could hand a page of the
 * damaged free list or b-tree out again and spread the damage.
 */
export function assertWritable(db: Database.Database): void {
  const known = damage.get(db);
  if (known) throw new DatabaseDamagedError(known.file, known.problem, { cause: known });
  if (checkedForWriting.has(db)) return;
  const problem = quickCheckProblem(db);
  if (problem) throw damaged(db, problem);
  checkedForWriting.add(db);
}

/**
 * PRAGMA quick_check of the whole file, or of one table: null when it is sound, else what it found (SQLite
 * sometimes gives up with SQLITE_CORRUPT instead of listing the damage). Other errors are thrown.
 */
export function quickCheckProblem(db: Database.Database, table?: string): string | null {
  const pragma = table ? `quick_check(${JSON.stringify(table)})` : 'quick_check';
  let rows: { quick_check: string }[];
  try {
    rows = db.pragma(pragma, { simple: false }) as { quick_check: string }[];
  } catch (err) {
    if (isCorruptionError(err)) return `PRAGMA ${pragma}: ${describeCorruption(err).replace(/^SQLite: /, '')}`;
    throw err;
  }
  const problems = rows.flatMap((r) => r.quick_check.split('\n')).filter((p) => p && p !== '*** in database main ***');
  return problems.length === 1 && problems[0] === 'ok' ? null : `PRAGMA ${pragma}: ${summarise(problems)}`;
}

/** The first problems of a check, with a count of the rest. */
export function summarise(problems: string[], first = 3): string {
  const shown = problems.slice(0, first).join('; ');
  const more = problems.length - first;
  return more > 0 ? `${shown}; and ${more} more problem${more === 1 ? '' : 's'}` : shown;
}

/** `file` as a shell word. */
function shellQuote(file: string): string {
  return /^[\w@%+=:,./-]+$/.test(file) ? file : `'${file.replace(/'/g, `'\\''`)}'`;
}
