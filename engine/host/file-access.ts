import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { clip, formatBytes, InputFileError, kindOf, readInputFile } from '../probes/inputs.ts';
import { MAX_PROBE_SET_BYTES, parseProbeSet, PROBE_SET_EXTENSIONS, PROBE_SET_FILE } from '../probes/load-probe-set.ts';
import type { ProbeSet } from '../probes/probe-set.ts';
import { HostError } from './host-error.ts';

/**
 * Which files a client of the engine host may have it read (DESIGN §3: the UI, in Electron or a browser, is the
 * only client). Probe sets come from two folders only: the probes folder (listed by probes.list) and the uploads
 * folder, where sets the user picked on their machine are stored (probes.expand with `text`). Any other path is
 * refused before anything is opened, so a request cannot make the engine read, or echo in an error, some other
 * .json on the machine. Checkpoint folders are named by the user (the Open dialog in Electron, whose main process
 * passes on only folders its dialogs returned; the path field in a browser); before the model code reads one,
 * every file it could read there is checked to be a regular file of a sane size, so a FIFO or a device planted in a
 * folder cannot hang or flood the engine.
 */
export class FileAccess {
  constructor(readonly probesDir: string, readonly uploadsDir: string) {}

  /** The absolute probe-set file a request names (relative names against the probes folder), if it may be read. */
  probeSet(file: string): string {
    if (file.includes('\0')) throw new HostError('bad-request', 'a probe-set path cannot contain a NUL character');
    const resolved = path.resolve(this.probesDir, file);
    if (isInside(this.probesDir, resolved) || isInside(this.uploadsDir, resolved)) return resolved;
    throw new HostError('bad-request', `${clip(file, 300)}: probe sets are read only from the probes folder (${this.probesDir}) `
      + 'or uploaded (probes.expand with the file\'s text); this path is outside both');
  }

  /** A probe-set file's text, read under the loader's rules (a regular .json/.yaml/.yml file of at most 2 MiB). */
  async source(name: string): Promise<{ file: string; name: string; text: string; shipped: boolean }> {
    const file = this.probeSet(name);
    let text: string;
    try {
      text = await readInputFile(file, PROBE_SET_FILE);
    } catch (err) {
      throw new HostError('failed', `${file}: ${err instanceof InputFileError ? err.reason : `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`}`);
    }
    return { file, name: path.basename(file), text, shipped: isInside(this.probesDir, file) };
  }

  /**
   * Validates an uploaded probe set (a bare file name and its text; errors name the file as the user knows it) and
   * stores it in the uploads folder, replacing an earlier upload of the same name. Returns where it is and the set.
   */
  async upload(name: string, text: string): Promise<{ file: string; set: ProbeSet }> {
    if (!/^[^/\\\0]+$/.test(name) || name.startsWith('.') || !PROBE_SET_EXTENSIONS.includes(path.extname(name).toLowerCase())) {
      throw new HostError('bad-request', `${clip(JSON.stringify(name), 300)}: an uploaded probe set is named by a bare file name ending in ${PROBE_SET_EXTENSIONS.join(', ')}`);
    }
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > MAX_PROBE_SET_BYTES) throw new HostError('bad-request', `${name}: is ${formatBytes(bytes)}; a probe set may be at most ${formatBytes(MAX_PROBE_SET_BYTES)}`);
    const set = parseProbeSet(text, name);
    const file = path.join(this.uploadsDir, name);
    await fs.promises.mkdir(this.uploadsDir, { recursive: true });
    const temporary = path.join(this.uploadsDir, `.${name}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
    try {
      await fs.promises.writeFile(temporary, text, { encoding: 'utf8', flag: 'wx' });
      await fs.promises.rename(temporary, file);
    } catch (err) {
      await fs.promises.rm(temporary, { force: true }).catch(() => undefined);
      throw new Error(`${name}: could not store the upload in ${this.uploadsDir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    return { file, set };
  }
}

/** Largest checkpoint metadata file (config, tokenizer, index, chat template) the model code may read. */
export const MAX_CHECKPOINT_METADATA_BYTES = 256 * 1024 * 1024;
const METADATA = /\.(json|jinja|txt|model)$/i;

/**
 * Checks, without opening anything (stat never blocks on a FIFO), that `dir` is a folder and that every file the
 * model code could read in it — *.safetensors and metadata (*.json, *.jinja, *.txt, *.model) — is a regular file,
 * metadata at most MAX_CHECKPOINT_METADATA_BYTES. A missing folder is left to the checkpoint reader, whose message
 * says what a checkpoint folder is.
 */
export async function checkCheckpointFolder(dir: string): Promise<void> {
  const absolute = path.resolve(dir);
  let entries: fs.Dirent[];
  try {
    if (!(await fs.promises.stat(absolute)).isDirectory()) return;
    entries = await fs.promises.readdir(absolute, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const metadata = METADATA.test(entry.name);
    if (!metadata && !/\.safetensors$/i.test(entry.name)) continue;
    const file = path.join(absolute, entry.name);
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(file);
    } catch (err) {
      throw new HostError('failed', `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (!stat.isFile()) throw new HostError('failed', `${file}: is ${kindOf(stat)}, not a file; a checkpoint folder holds regular files`);
    if (metadata && stat.size > MAX_CHECKPOINT_METADATA_BYTES) {
      throw new HostError('failed', `${file}: is ${formatBytes(stat.size)}; checkpoint metadata files may be at most ${formatBytes(MAX_CHECKPOINT_METADATA_BYTES)}`);
    }
  }
}

function isInside(root: string, file: string): boolean {
  const relative = path.relative(path.resolve(root), file);
  return relative !== '' && !relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative);
}
