import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Checkpoint } from '../checkpoint.ts';
import { buildGraph, type BuildControl, type BuildOptions } from './build-graph.ts';

/** Bump when the graph builder's output changes, so stale cached graphs are rebuilt. */
const GRAPH_FORMAT = 2;
const MODEL_FILE = 'model.onnx';
const DATA_FILE = 'weights.bin';

function defaultCacheDir(): string {
  return process.env.MOTE_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'mote-studio');
}

export interface BuiltGraph {
  modelPath: string;
  fromCache: boolean;
}

/**
 * The checkpoint's graph for these options, built on first use and cached under cacheDir/graphs/<key>/, where the
 * key covers the checkpoint's content, the options and the builder's format. A build goes to a temporary folder
 * that is renamed into place when complete, so an interrupted build never leaves a half-written graph.
 */
export async function ensureGraph(ckpt: Checkpoint, options: BuildOptions, cacheDir = defaultCacheDir(),
  control: BuildControl = {}): Promise<BuiltGraph> {
  const key = crypto.createHash('sha256').update(JSON.stringify({ GRAPH_FORMAT, content: ckpt.contentHash, options })).digest('hex').slice(0, 24);
  const graphsDir = path.join(cacheDir, 'graphs');
  const finalDir = path.join(graphsDir, key);
  const modelPath = path.join(finalDir, MODEL_FILE);
  if (fs.existsSync(modelPath)) return { modelPath, fromCache: true };

  fs.mkdirSync(graphsDir, { recursive: true });
  const tmpDir = fs.mkdtempSync(path.join(graphsDir, `${key}.tmp-`));
  try {
    const model = await buildGraph(ckpt.family, ckpt.spec, ckpt.weights, options, path.join(tmpDir, DATA_FILE), DATA_FILE, control);
    fs.writeFileSync(path.join(tmpDir, MODEL_FILE), model);
    fs.writeFileSync(path.join(tmpDir, 'source.json'), JSON.stringify({ checkpoint: ckpt.dir, contentHash: ckpt.contentHash, options }, null, 2));
    try {
      fs.renameSync(tmpDir, finalDir);
    } catch (err) {
      // Another process finished the same build first; its result is identical.
      if (!fs.existsSync(modelPath)) throw err;
      fs.rmSync(tmpDir, { recursive: true, force: true });
    }
  } catch (err) {
    fs.rmSync(tmpDir, { recursive: true, force: true });
    throw err;
  }
  return { modelPath, fromCache: false };
}
