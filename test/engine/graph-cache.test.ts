import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import { openCheckpoint } from '../../engine/model/checkpoint.ts';
import { GRAPH_IO } from '../../engine/model/onnx/build-graph.ts';
import { ensureGraphs } from '../../engine/model/onnx/graph-cache.ts';
import { OrtSession } from '../../engine/runtime/ort-session.ts';
import { writeTinyCheckpoint } from '../helpers/checkpoints.ts';

/** External initialisers of a serialised model: name → "offset+length" in its data file. */
function externalPlacements(model: Uint8Array): Map<string, string> {
  const { graph } = onnxProto.onnx.ModelProto.decode(model);
  const field = (t: onnxProto.onnx.ITensorProto, key: string) => t.externalData?.find((e) => e.key === key)?.value;
  return new Map(graph!.initializer!.filter((t) => t.externalData?.length)
    .map((t) => [t.name!, `${field(t, 'offset')}+${field(t, 'length')}`]));
}

describe('graph cache', () => {
  it('reuses built graphs, and rebuilds when the checkpoint content changes', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-cache-'));
    const dir = path.join(root, 'model');
    const cacheDir = path.join(root, 'cache');
    writeTinyCheckpoint(dir, { family: 'olmoe', seed: 1 });
    const first = await ensureGraphs(openCheckpoint(dir), 'f32', cacheDir);
    assert.equal(first.fromCache, false);
    const again = await ensureGraphs(openCheckpoint(dir), 'f32', cacheDir);
    assert.deepEqual(again, { modelPaths: first.modelPaths, fromCache: true });

    writeTinyCheckpoint(dir, { family: 'olmoe', seed: 2 }); // same names and sizes, other values
    const changed = await ensureGraphs(openCheckpoint(dir), 'f32', cacheDir);
    assert.equal(changed.fromCache, false);
    assert.notEqual(changed.modelPaths.instrumented, first.modelPaths.instrumented);

    const int8 = await ensureGraphs(openCheckpoint(dir), 'int8', cacheDir);
    assert.equal(int8.fromCache, false, 'each precision has its own graphs');
    assert.notEqual(path.dirname(int8.modelPaths.instrumented), path.dirname(changed.modelPaths.instrumented));
    assert.equal((await ensureGraphs(openCheckpoint(dir), 'int8', cacheDir)).fromCache, true);
  });

  it('builds the instrumented and plain graphs over one copy of the weights', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-cache-'));
    const dir = path.join(root, 'model');
    writeTinyCheckpoint(dir, { family: 'qwen2_moe', seed: 4, config: { hidden_size: 64, moe_intermediate_size: 64 } });
    const checkpoint = openCheckpoint(dir);
    const { modelPaths } = await ensureGraphs(checkpoint, 'f32', path.join(root, 'cache'));
    const folder = path.dirname(modelPaths.instrumented);
    assert.deepEqual(new Set(Object.values(modelPaths).map(path.dirname)), new Set([folder]));
    assert.deepEqual(fs.readdirSync(folder).filter((f) => f.endsWith('.bin')), ['weights.bin']);
    // Every variant places each external weight at the same offset, and the file ends with the last of them.
    const placements = Object.values(modelPaths).map((file) => externalPlacements(fs.readFileSync(file)));
    assert.ok(placements[0].size > 0);
    for (const p of placements.slice(1)) for (const [name, where] of p) assert.equal(where, placements[0].get(name), name);
    const end = Math.max(...[...placements[0].values()].map((w) => w.split('+').map(Number).reduce((a, b) => a + b)));
    assert.equal(fs.statSync(path.join(folder, 'weights.bin')).size, end);

    const steering = [GRAPH_IO.steeringActive, GRAPH_IO.expertBias, GRAPH_IO.expertDropped, GRAPH_IO.expertMaxWeight];
    const selection = [GRAPH_IO.selectedExperts, GRAPH_IO.routingWeights];
    for (const [variant, inputs, outputs, absent] of [
      ['instrumented', steering, [GRAPH_IO.routerLogits, ...selection], []],
      ['plain', [], [], [...steering, GRAPH_IO.routerLogits, ...selection]],
    ] as const) {
      const session = await OrtSession.create(modelPaths[variant], { threads: 1 });
      const names = [...session.inputNames, ...session.outputNames];
      for (const name of [...inputs, ...outputs]) assert.ok(names.includes(name), `${variant} graph has ${name}`);
      for (const name of absent) assert.ok(!names.includes(name), `${variant} graph has no ${name}`);
      await session.dispose();
    }
  });

  it('a cancelled build leaves nothing behind, and the next build completes', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-cache-'));
    const dir = path.join(root, 'model');
    const cacheDir = path.join(root, 'cache');
    writeTinyCheckpoint(dir, { family: 'mixtral', seed: 3 });
    const controller = new AbortController();
    await assert.rejects(ensureGraphs(openCheckpoint(dir), 'f32', cacheDir, {
      signal: controller.signal,
      onProgress: (done: number) => { if (done === 1) controller.abort(); },
    }), /graph build cancelled/);
    assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'graphs')), [], 'no partial graph folder');
    const built = await ensureGraphs(openCheckpoint(dir), 'f32', cacheDir);
    assert.equal(built.fromCache, false);
    for (const file of Object.values(built.modelPaths)) assert.ok(fs.existsSync(file), file);
  });
});
