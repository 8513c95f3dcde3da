import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import { openCheckpoint } from '../../engine/model/checkpoint.ts';
import { GRAPH_IO } from '../../engine/model/onnx/build-graph.ts';
import { ensureGraphs } from '../../engine/model/onnx/graph-cache.ts';
import { ModelRunner } from '../../engine/runtime/model-runner.ts';
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

const ROOT = path.resolve(import.meta.dirname, '../..');
const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

const damageRoots: string[] = [];
after(() => damageRoots.forEach((root) => fs.rmSync(root, { recursive: true, force: true })));

/** A tiny checkpoint with its graphs built, and the logits the model gives for a fixed prompt. */
async function cachedModel() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-damage-'));
  damageRoots.push(root);
  const dir = path.join(root, 'model');
  const cacheDir = path.join(root, 'cache');
  writeTinyCheckpoint(dir, { family: 'olmoe', seed: 7 });
  const { logits, fromCache } = await answer(dir, cacheDir);
  assert.equal(fromCache, false);
  const folder = path.dirname((await ensureGraphs(openCheckpoint(dir), 'f32', cacheDir)).modelPaths.instrumented);
  return { dir, cacheDir, folder, graphs: path.join(cacheDir, 'graphs'), logits };
}

/** Opens the model as the engine does and runs one step. */
async function answer(dir: string, cacheDir: string): Promise<{ logits: number[]; fromCache: boolean }> {
  const runner = await ModelRunner.open(dir, { cacheDir, threads: 1, precision: 'f32' });
  try {
    const { result } = await runner.step(runner.emptyCache(), [3, 9, 27], runner.steering(), 3);
    return { logits: Array.from(result.logits), fromCache: runner.fromCache };
  } finally {
    await runner.dispose();
  }
}

/** Runs `fn`, collecting what it writes to stderr. */
async function withStderr<T>(fn: () => Promise<T>): Promise<{ value: T; stderr: string }> {
  const write = process.stderr.write;
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { value: await fn(), stderr };
  } finally {
    process.stderr.write = write;
  }
}

/** Overwrites `count` bytes at `at` (default: to the end) with their complement: noise that keeps the size. */
function addNoise(file: string, at: number, count = fs.statSync(file).size - at): void {
  const fd = fs.openSync(file, 'r+');
  const bytes = Buffer.alloc(count);
  fs.readSync(fd, bytes, 0, count, at);
  fs.writeSync(fd, bytes.map((b) => 255 - b), 0, count, at);
  fs.closeSync(fd);
}

describe('a damaged graph cache is found and rebuilt, never run', () => {
  afterEach(() => {
    delete process.env.MOTE_VERIFY_CACHE;
  });

  it('records the size and SHA-256 of every file; the weights are hashed as they are written', async () => {
    const { folder } = await cachedModel();
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'manifest.json'), 'utf8'));
    assert.deepEqual(Object.keys(manifest.files).sort(), ['instrumented.onnx', 'plain.onnx', 'source.json', 'weights.bin']);
    for (const [name, recorded] of Object.entries(manifest.files)) {
      assert.deepEqual(recorded, { bytes: fs.statSync(path.join(folder, name)).size, sha256: sha256(path.join(folder, name)) }, name);
    }
    assert.deepEqual(fs.readdirSync(folder).sort(), ['instrumented.onnx', 'manifest.json', 'plain.onnx', 'source.json', 'weights.bin']);
  });

  it('a truncated weights file is rebuilt on the next open (was onnxruntime\'s raw error on every open), and the model answers as before', async () => {
    const { dir, cacheDir, folder, logits } = await cachedModel();
    const weights = path.join(folder, 'weights.bin');
    const size = fs.statSync(weights).size;
    fs.truncateSync(weights, size - 4096);
    const { value, stderr } = await withStderr(() => answer(dir, cacheDir));
    assert.equal(value.fromCache, false);
    assert.equal(stderr, `mote: the graph cache ${folder} is damaged (weights.bin has ${size - 4096} bytes, ${size} were written); deleting and rebuilding it\n`);
    assert.deepEqual(value.logits, logits);
    assert.equal((await answer(dir, cacheDir)).fromCache, true);
  });

  it('noise in the weights is found when MOTE_VERIFY_CACHE=1 (was exit 0 and garbage output), and rebuilt', async () => {
    const { dir, cacheDir, folder, logits } = await cachedModel();
    addNoise(path.join(folder, 'weights.bin'), 0);
    const unverified = await answer(dir, cacheDir);
    assert.equal(unverified.fromCache, true, 'every open checks sizes only; the weights hash is checked on request');
    assert.notDeepEqual(unverified.logits, logits);
    process.env.MOTE_VERIFY_CACHE = '1';
    const { value, stderr } = await withStderr(() => answer(dir, cacheDir));
    assert.equal(value.fromCache, false);
    assert.equal(stderr, [
      `mote: verifying the graph cache ${folder} (MOTE_VERIFY_CACHE=1)`,
      `mote: the graph cache ${folder} is damaged (weights.bin does not match the SHA-256 recorded when it was written); deleting and rebuilding it`,
      ''].join('\n'));
    assert.deepEqual(value.logits, logits);
    const again = await withStderr(() => answer(dir, cacheDir));
    assert.equal(again.value.fromCache, true);
    assert.equal(again.stderr, `mote: verifying the graph cache ${folder} (MOTE_VERIFY_CACHE=1)\n`);
  });

  it('noise in a graph file, a missing file or a missing manifest is found on every open, and rebuilt', async () => {
    const { dir, cacheDir, folder, logits } = await cachedModel();
    for (const [damage, problem] of [
      [() => addNoise(path.join(folder, 'instrumented.onnx'), 200, 64), 'instrumented.onnx does not match the SHA-256 recorded when it was written'],
      [() => fs.rmSync(path.join(folder, 'plain.onnx')), 'plain.onnx is missing'],
      [() => fs.rmSync(path.join(folder, 'manifest.json')), 'no manifest.json'],
      [() => fs.writeFileSync(path.join(folder, 'manifest.json'), '{"files": {'), 'manifest.json is not valid JSON'],
    ] as const) {
      damage();
      const { value, stderr } = await withStderr(() => answer(dir, cacheDir));
      assert.equal(value.fromCache, false, problem);
      assert.equal(stderr, `mote: the graph cache ${folder} is damaged (${problem}); deleting and rebuilding it\n`);
      assert.deepEqual(value.logits, logits);
    }
  });

  it('after a build killed with SIGKILL: its temporary folder is swept and the weights are verified', async () => {
    const { dir, cacheDir, folder, graphs, logits } = await cachedModel();
    addNoise(path.join(folder, 'weights.bin'), 0);
    // Another process starts a build (another precision) and is killed in the middle of it.
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
      import { openCheckpoint } from ${JSON.stringify(path.join(ROOT, 'engine/model/checkpoint.ts'))};
      import { ensureGraphs } from ${JSON.stringify(path.join(ROOT, 'engine/model/onnx/graph-cache.ts'))};
      await ensureGraphs(openCheckpoint(${JSON.stringify(dir)}), 'int8', ${JSON.stringify(cacheDir)}, { onProgress: () => {
        process.stdout.write('building\\n');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      } });`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => resolve());
      child.on('exit', (code) => reject(new Error(`the build exited (${code}) before it was killed`)));
    });
    const interrupted = fs.readdirSync(graphs).filter((f) => f.includes(`.tmp-${child.pid}-`));
    assert.equal(interrupted.length, 1);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    // A build of this process (alive) and a pid-less one of an older version, idle for a day or just begun.
    const live = path.join(graphs, `0123.tmp-${process.pid}-abcdef`);
    const legacyIdle = path.join(graphs, '4567.tmp-abcdef');
    const legacyBusy = path.join(graphs, '89ab.tmp-ghijkl');
    for (const d of [live, legacyIdle, legacyBusy]) fs.mkdirSync(d);
    const dayAgo = new Date(Date.now() - 24 * 3600 * 1000);
    fs.utimesSync(legacyIdle, dayAgo, dayAgo);

    const { value, stderr } = await withStderr(() => answer(dir, cacheDir));
    assert.equal(stderr, [
      `mote: verifying the graph cache ${folder} (an interrupted build was found)`,
      `mote: the graph cache ${folder} is damaged (weights.bin does not match the SHA-256 recorded when it was written); deleting and rebuilding it`,
      ''].join('\n'));
    assert.equal(value.fromCache, false);
    assert.deepEqual(value.logits, logits);
    assert.deepEqual(fs.readdirSync(graphs).filter((f) => f.includes('.tmp-')).sort(), [path.basename(live), path.basename(legacyBusy)]);
    fs.rmSync(live, { recursive: true });
    const next = await withStderr(() => answer(dir, cacheDir));
    assert.deepEqual([next.value.fromCache, next.stderr], [true, ''], 'verified once, after the crash');
  });
});
