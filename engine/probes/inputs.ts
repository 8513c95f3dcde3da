import fs from 'node:fs';
import path from 'node:path';

/**
 * Limits on what users hand the engine: files named by a request or a command line (probe sets, masks), and the
 * problem lists their errors carry. A named file is opened without blocking (a FIFO would otherwise hang the
 * open), checked on the open descriptor (fstat: a regular file, not a folder, device or pipe; not too large), its
 * extension checked before anything is read, and read to at most its cap, whatever the file claims its size is.
 */
export interface InputFileRules {
  /** What the file should be, for messages: "a probe set". */
  what: string;
  /** Accepted extensions, lower case with the dot: ['.json']. */
  extensions: readonly string[];
  maxBytes: number;
}

/** A named file that cannot be used: `reason` says why, the message names the file. */
export class InputFileError extends Error {
  constructor(readonly file: string, readonly reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'InputFileError';
  }
}

// O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer (not defined on Windows).
// O_NOCTTY: a terminal device never becomes the engine's controlling terminal.
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOCTTY ?? 0);
const CHUNK = 64 * 1024;

/** The reason an extension is refused, or null when `file` has one of `rules.extensions`. */
export function extensionProblem(file: string, rules: InputFileRules): string | null {
  return rules.extensions.includes(path.extname(file).toLowerCase()) ? null : `${rules.what} is a ${rules.extensions.join(', ')} file`;
}

/** Reads a named input file as UTF-8 text without blocking the event loop; throws InputFileError. */
export async function readInputFile(file: string, rules: InputFileRules): Promise<string> {
  const refused = extensionProblem(file, rules);
  if (refused) throw new InputFileError(file, refused);
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, OPEN_FLAGS);
  } catch (err) {
    throw new InputFileError(file, cannotRead(err));
  }
  try {
    const stat = await handle.stat();
    checkStat(file, stat, rules);
    const content = new CappedContent(file, rules);
    for (let buffer = content.next(); content.add(buffer, (await handle.read(buffer, 0, buffer.length, null)).bytesRead); buffer = content.next());
    return content.text();
  } catch (err) {
    throw err instanceof InputFileError ? err : new InputFileError(file, cannotRead(err));
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** readInputFile for the command line, where blocking is fine; the same checks and messages. */
export function readInputFileSync(file: string, rules: InputFileRules): string {
  const refused = extensionProblem(file, rules);
  if (refused) throw new InputFileError(file, refused);
  let fd: number;
  try {
    fd = fs.openSync(file, OPEN_FLAGS);
  } catch (err) {
    throw new InputFileError(file, cannotRead(err));
  }
  try {
    checkStat(file, fs.fstatSync(fd), rules);
    const content = new CappedContent(file, rules);
    for (let buffer = content.next(); content.add(buffer, fs.readSync(fd, buffer, 0, buffer.length, null)); buffer = content.next());
    return content.text();
  } catch (err) {
    throw err instanceof InputFileError ? err : new InputFileError(file, cannotRead(err));
  } finally {
    fs.closeSync(fd);
  }
}

/** A file's bytes as they are read, refused once they pass the cap (whatever size the file claimed). */
class CappedContent {
  private readonly chunks: Buffer[] = [];
  private total = 0;

  constructor(private readonly file: string, private readonly rules: InputFileRules) {}

  /** A buffer for the next read: at most one byte past the cap. */
  next(): Buffer {
    return Buffer.allocUnsafe(Math.min(CHUNK, this.rules.maxBytes + 1 - this.total));
  }

  /** Keeps what a read put in `buffer`; false at the end of the file. */
  add(buffer: Buffer, bytesRead: number): boolean {
    if (bytesRead === 0) return false;
    this.chunks.push(buffer.subarray(0, bytesRead));
    this.total += bytesRead;
    if (this.total > this.rules.maxBytes) throw new InputFileError(this.file, tooLarge(undefined, this.rules));
    return true;
  }

  text(): string {
    return decode(this.file, Buffer.concat(this.chunks, this.total));
  }
}

/** Refuses anything but a regular file, and a regular file larger than the cap, before a byte is read. */
function checkStat(file: string, stat: fs.Stats, rules: InputFileRules): void {
  if (!stat.isFile()) throw new InputFileError(file, `is ${kindOf(stat)}, not a file; ${rules.what} is a regular file`);
  if (stat.size > rules.maxBytes) throw new InputFileError(file, tooLarge(stat.size, rules));
}

/** What a file that is not a regular file is, for messages: 'a folder', 'a named pipe (FIFO)', …. */
export function kindOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

function tooLarge(size: number | undefined, rules: InputFileRules): string {
  return `${size === undefined ? 'is larger than' : `is ${formatBytes(size)};`} ${rules.what} may be at most ${formatBytes(rules.maxBytes)}`;
}

function cannotRead(err: unknown): string {
  return `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decode(file: string, bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new InputFileError(file, 'is not UTF-8 text');
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Problems shown in one error message; the rest are counted. */
export const MAX_LISTED_PROBLEMS = 20;
/** Characters of one problem shown; a longer one (a huge key echoed back, say) is cut. */
export const MAX_PROBLEM_CHARS = 300;

/** Cuts `text` to `max` characters, saying so. */
export function clip(text: string, max = MAX_PROBLEM_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Problems found in an input, kept to the first `limit` (each clipped) and counted beyond, so an input with a
 * million faults gives an error of a few kilobytes that still says how many there were.
 */
export class ProblemList {
  private readonly shown: string[] = [];
  private total = 0;

  constructor(private readonly limit = MAX_LISTED_PROBLEMS) {}

  add(problem: string): void {
    this.total++;
    if (this.shown.length < this.limit) this.shown.push(clip(problem));
  }

  get count(): number {
    return this.total;
  }

  /** The first problems, then "… and N more" when some were left out. */
  list(noun = 'problem'): string[] {
    const more = this.total - this.shown.length;
    return [...this.shown, ...(more > 0 ? [`… and ${more.toLocaleString('en')} more ${noun}${more === 1 ? '' : 's'}`] : [])];
  }

  join(separator = '; '): string {
    return this.list().join(separator);
  }
}
