import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Checkpoint } from '../checkpoint.ts';
import type { Precision } from '../precision.ts';
import { buildGraphs, GRAPH_VARIANTS, type BuildControl, type GraphVariant } from './build-graph.ts';

/** Bump when the graph builder's output changes, so stale cached graphs are rebuilt. */
const GRAPH_FORMAT = 8;
const modelFile = (variant: GraphVariant) => `${variant}.onnx`;
const DATA_FILE = 'weights.bin';

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
 * format. A build goes to a
 * temporary folder that is renamed into place when complete, so an interrupted build never leaves a half-written
 * graph.
 */
export async function ensureGraphs(ckpt: Checkpoint, precision: Precision, cacheDir = defaultCacheDir(), control: BuildControl = {}): Promise<BuiltGraphs> {
  const key = crypto.createHash('sha256').update(JSON.stringify({ GRAPH_FORMAT, content: ckpt.contentHash, precision })).digest('hex').slice(0, 24);
  const graphsDir = path.join(cacheDir, 'graphs');
  const finalDir = path.join(graphsDir, key);
  const modelPaths = Object.fromEntries(GRAPH_VARIANTS.map((v) => [v, path.join(finalDir, modelFile(v))])) as Record<GraphVariant, string>;
  if (fs.existsSync(finalDir)) return { modelPaths, fromCache: true };

  fs.mkdirSync(graphsDir, { recursive: true });
  const tmpDir = fs.mkdtempSync(path.join(graphsDir, `${key}.tmp-`));
  try {
    const models = await buildGraphs(ckpt.family, ckpt.spec, ckpt.weights, precision, path.join(tmpDir, DATA_FILE), DATA_FILE, control);
    for (const variant of GRAPH_VARIANTS) fs.writeFileSync(path.join(tmpDir, modelFile(variant)), models[variant]);
    fs.writeFileSync(path.join(tmpDir, 'source.json'), JSON.stringify({ checkpoint: ckpt.dir, contentHash: ckpt.contentHash, precision }, null, 2));
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
