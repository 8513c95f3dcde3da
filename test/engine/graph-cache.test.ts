import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openCheckpoint } from '../../engine/model/checkpoint.ts';
import { ensureGraph } from '../../engine/model/onnx/graph-cache.ts';
import { writeTinyCheckpoint } from '../helpers/checkpoints.ts';

const FULL = { routing: true, steering: true };

describe('graph cache', () => {
  it('reuses a built graph, and rebuilds when the checkpoint content or the build options change', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-cache-'));
    const dir = path.join(root, 'model');
    const cacheDir = path.join(root, 'cache');
    writeTinyCheckpoint(dir, { family: 'olmoe', seed: 1 });
    const first = await ensureGraph(openCheckpoint(dir), FULL, cacheDir);
    assert.equal(first.fromCache, false);
    assert.ok(fs.statSync(path.join(path.dirname(first.modelPath), 'weights.bin')).size > 0, 'weights in external data');
    const again = await ensureGraph(openCheckpoint(dir), FULL, cacheDir);
    assert.deepEqual(again, { modelPath: first.modelPath, fromCache: true });

    const plain = await ensureGraph(openCheckpoint(dir), { routing: false, steering: false }, cacheDir);
    assert.equal(plain.fromCache, false);
    assert.notEqual(plain.modelPath, first.modelPath);

    writeTinyCheckpoint(dir, { family: 'olmoe', seed: 2 }); // same names and sizes, other values
    const changed = await ensureGraph(openCheckpoint(dir), FULL, cacheDir);
    assert.equal(changed.fromCache, false);
    assert.notEqual(changed.modelPath, first.modelPath);
  });

  it('a cancelled build leaves nothing behind, and the next build completes', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-cache-'));
    const dir = path.join(root, 'model');
    const cacheDir = path.join(root, 'cache');
    writeTinyCheckpoint(dir, { family: 'mixtral', seed: 3 });
    const controller = new AbortController();
    await assert.rejects(ensureGraph(openCheckpoint(dir), FULL, cacheDir, {
      signal: controller.signal,
      onProgress: (done) => { if (done === 1) controller.abort(); },
    }), /graph build cancelled/);
    assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'graphs')), [], 'no partial graph folder');
    const built = await ensureGraph(openCheckpoint(dir), FULL, cacheDir);
    assert.equal(built.fromCache, false);
    assert.ok(fs.existsSync(built.modelPath));
  });
});
