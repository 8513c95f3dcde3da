import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Checkpoint } from '../checkpoint.ts';
import type { Precision } from '../precision.ts';
import { buildGraphs, GRAPH_VARIANTS, type BuildControl, type GraphVariant } from './build-graph.ts';
import type { FileDigest } from './graph.ts';

/** Bump when the graph builder's output or the cache folder's layout changes, so stale cached graphs are rebuilt. */
const GRAPH_FORMAT = 9;
const modelFile = (variant: GraphVariant) => `${variant}.onnx`;
const DATA_FILE = 'weights.bin';
const SOURCE_FILE = 'source.json';
/** Size and SHA-256 of every other file of the folder, recorded at build. */
const MANIFEST_FILE = 'manifest.json';
const CACHED_FILES = [...GRAPH_VARIANTS.map(modelFile), DATA_FILE, SOURCE_FILE];
/** Temporary build folders are <key>.tmp-<pid>-<random>; older versions left <key>.tmp-<random>. */
const TEMP_MARK = '.tmp-';
/** A temporary folder without a pid is swept once nothing in it has changed for this long. */
const LEGACY_TEMP_IDLE_MS = 60 * 60 * 1000;

interface Manifest {
  files: Record<string, FileDigest>;
}

function defaultCacheDir(): string {
  return process.env.MOTE_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'mote-studio');
}

export interface BuiltGraphs {
  modelPaths: Record<GraphVariant, string>;
  fromCache: boolean;
}

/**
 * The checkpoint's graphs at a precision (every variant, sharing one weights file), built on first use and cached
 * under cacheDir/graphs/<key>/, where the key covers the checkpoint's content, the precision and the builder's
 * format. A build goes to a temporary folder, synced to disk and renamed into place when complete, so an
 * interrupted build never leaves a half-written graph; temporary folders of processes that are gone are swept.
 *
 * A cached folder is checked on every use against its manifest: every file's size, and the SHA-256 of the small
 * ones (the graphs). The weights file's SHA-256 is checked too when MOTE_VERIFY_CACHE=1 or after a crash (a dead
 * process's temporary folder was found). A damaged folder is deleted and rebuilt, with a line on stderr.
 */
export async function ensureGraphs(ckpt: Checkpoint, precision: Precision, cacheDir = defaultCacheDir(), control: BuildControl = {}): Promise<BuiltGraphs> {
  const key = crypto.createHash('sha256').update(JSON.stringify({ GRAPH_FORMAT, content: ckpt.contentHash, precision })).digest('hex').slice(0, 24);
  const graphsDir = path.join(cacheDir, 'graphs');
  const finalDir = path.join(graphsDir, key);
  const modelPaths = Object.fromEntries(GRAPH_VARIANTS.map((v) => [v, path.join(finalDir, modelFile(v))])) as Record<GraphVariant, string>;
  const crashed = sweepTemporaries(graphsDir);
  if (fs.existsSync(finalDir)) {
    const verifyWeights = process.env.MOTE_VERIFY_CACHE === '1' ? 'MOTE_VERIFY_CACHE=1' : crashed ? 'an interrupted build was found' : null;
    if (verifyWeights) process.stderr.write(`mote: verifying the graph cache ${finalDir} (${verifyWeights})\n`);
    const damage = await findDamage(finalDir, verifyWeights !== null, control.signal);
    if (!damage) return { modelPaths, fromCache: true };
    process.stderr.write(`mote: the graph cache ${finalDir} is damaged (${damage}); deleting and rebuilding it\n`);
    fs.rmSync(finalDir, { recursive: true, force: true });
  }

  fs.mkdirSync(graphsDir, { recursive: true });
  const tmpDir = fs.mkdtempSync(path.join(graphsDir, `${key}${TEMP_MARK}${process.pid}-`));
  try {
    const dataFile = path.join(tmpDir, DATA_FILE);
    const { models, weights } = await buildGraphs(ckpt.family, ckpt.spec, ckpt.weights, precision, dataFile, DATA_FILE, control);
    const files: Record<string, FileDigest> = { [DATA_FILE]: weights };
    for (const variant of GRAPH_VARIANTS) files[modelFile(variant)] = writeSynced(path.join(tmpDir, modelFile(variant)), models[variant]);
    const source = { checkpoint: ckpt.dir, contentHash: ckpt.contentHash, precision };
    files[SOURCE_FILE] = writeSynced(path.join(tmpDir, SOURCE_FILE), Buffer.from(JSON.stringify(source, null, 2)));
    const manifest: Manifest = { files };
    writeSynced(path.join(tmpDir, MANIFEST_FILE), Buffer.from(JSON.stringify(manifest, null, 2)));
    try {
      fs.renameSync(tmpDir, finalDir);
    } catch (err) {
      // Another process finished the same build first; its result is identical.
      if (!fs.existsSync(finalDir)) throw err;
      fs.rmSync(tmpDir, { recursive: true, force: true });
    }
  } catch (err) {
    fs.rmSync(tmpDir, { recursive: true, force: true });
    throw err;
  }
  return { modelPaths, fromCache: false };
}

/** Writes a whole file and syncs it to disk (a folder renamed into place must survive a power loss whole). */
function writeSynced(file: string, data: Uint8Array): FileDigest {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { bytes: data.length, sha256: crypto.createHash('sha256').update(data).digest('hex') };
}

/**
 * Removes temporary build folders whose process is gone (and pid-less ones from older versions, once idle);
 * returns whether one of a dead process was found, i.e. a build was interrupted by a crash or a kill.
 */
function sweepTemporaries(graphsDir: string): boolean {
  if (!fs.existsSync(graphsDir)) return false;
  let crashed = false;
  for (const name of fs.readdirSync(graphsDir)) {
    const at = name.indexOf(TEMP_MARK);
    if (at < 0) continue;
    const dir = path.join(graphsDir, name);
    const pid = /^(\d+)-/.exec(name.slice(at + TEMP_MARK.length))?.[1];
    if (pid === undefined ? idleMs(dir) < LEGACY_TEMP_IDLE_MS : processExists(Number(pid))) continue;
    fs.rmSync(dir, { recursive: true, force: true });
    if (pid !== undefined) crashed = true;
  }
  return crashed;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Time since anything in a folder (the folder or a file directly in it) last changed. */
function idleMs(dir: string): number {
  try {
    const times = [dir, ...fs.readdirSync(dir).map((f) => path.join(dir, f))].map((f) => fs.statSync(f).mtimeMs);
    return Date.now() - Math.max(...times);
  } catch {
    return Infinity;
  }
}

/** What is wrong with a cached folder, or null: sizes and the graphs' hashes always, the weights' hash when `deep`. */
async function findDamage(dir: string, deep: boolean, signal?: AbortSignal): Promise<string | null> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8'));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? `no ${MANIFEST_FILE}` : `${MANIFEST_FILE} is not valid JSON`;
  }
  for (const name of CACHED_FILES) {
    const recorded = manifest?.files?.[name];
    if (!recorded || !Number.isSafeInteger(recorded.bytes) || typeof recorded.sha256 !== 'string') return `${MANIFEST_FILE} does not record ${name}`;
    let bytes: number;
    try {
      bytes = fs.statSync(path.join(dir, name)).size;
    } catch {
      return `${name} is missing`;
    }
    if (bytes !== recorded.bytes) return `${name} has ${bytes} bytes, ${recorded.bytes} were written`;
  }
  for (const name of CACHED_FILES) {
    if (name === DATA_FILE && !deep) continue;
    if (await sha256Of(path.join(dir, name), signal) !== manifest.files[name].sha256) return `${name} does not match the SHA-256 recorded when it was written`;
  }
  return null;
}

async function sha256Of(file: string, signal?: AbortSignal): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 4 << 20 })) {
    if (signal?.aborted) throw new Error('graph build cancelled');
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}
