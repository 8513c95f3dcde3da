import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import { ExternalWeights, GraphBuilder } from '../../engine/model/onnx/graph.ts';
import {
  MLAS_Q4_MOE_ENV, dequantizeMatrix, float16Table, fromFloat16, gatherFloat16, gatherQuantized, matMulNBits, qmoe,
  quantizeChunks, quantizeMatrix, quantizedExperts, quantizedWeight, toFloat16,
  type AccuracyLevel, type QMoEOptions, type QuantBits,
} from '../../engine/model/onnx/quantize.ts';
import { OrtSession, type HostTensor } from '../../engine/runtime/ort-session.ts';
import { Prng } from '../helpers/prng.ts';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-quantize-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

function normal(rng: Prng, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  rng.fillNormal(out, 0, std);
  return out;
}

/** max |a − b| / max |b|. */
function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

/** ‖a − b‖₂ / ‖b‖₂: how far quantisation moves an output, as a whole. */
function rmsError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i] - expected[i]) ** 2;
    norm += expected[i] ** 2;
  }
  return Math.sqrt(diff / norm);
}

/**
 * Bounds on the error against the original float weights, ‖·‖₂-relative, for normal weights in blocks of 32: about
 * 8 % per int4 matrix (steps of absmax/8, as llama.cpp Q4_0), compounding over fc1, SwiGLU and fc2 to ~16 %.
 */
const LOOSE = { 4: 0.25, 8: 0.02 };

let models = 0;
/** Builds a one-op graph with GraphBuilder (weights in an external data file), runs it once, returns output y. */
async function runGraph(build: (g: GraphBuilder) => string, outDims: number[], feeds: Record<string, HostTensor>,
  env: { mlasQ4Moe?: boolean } = {}): Promise<Float32Array> {
  const dir = path.join(work, `m${models++}`);
  fs.mkdirSync(dir);
  const weights = new ExternalWeights(path.join(dir, 'weights.bin'), 'weights.bin');
  const g = new GraphBuilder(weights);
  for (const [name, t] of Object.entries(feeds)) g.input(name, t.type === 'float32' ? 'float' : t.type, t.dims);
  g.bindOutput(build(g), 'y', 'float', outDims);
  weights.close();
  fs.writeFileSync(path.join(dir, 'model.onnx'), g.finish('quantize-test'));
  // QMoE reads the variable when its kernel is created, i.e. during session creation.
  const saved = process.env[MLAS_Q4_MOE_ENV];
  if (env.mlasQ4Moe) process.env[MLAS_Q4_MOE_ENV] = '1';
  else delete process.env[MLAS_Q4_MOE_ENV];
  let session: OrtSession;
  try {
    session = await OrtSession.create(path.join(dir, 'model.onnx'), { threads: 1 });
  } finally {
    if (saved === undefined) delete process.env[MLAS_Q4_MOE_ENV];
    else process.env[MLAS_Q4_MOE_ENV] = saved;
  }
  try {
    const { y } = await session.run(feeds);
    assert.deepEqual(y.dims, outDims);
    return y.data as Float32Array;
  } finally {
    await session.dispose();
  }
}

const f32 = (data: Float32Array, dims: number[]): HostTensor => ({ type: 'float32', data, dims });

describe('block quantiser', () => {
  for (const bits of [4, 8] as const) {
    it(`int${bits}: round trip within half a step, a full step where the top level clamps`, () => {
      const rng = new Prng(bits);
      const cols = 256;
      const values = normal(rng, 64 * cols, 0.02);
      values[5] = 0.5; // outliers, one per sign
      values[700] = -0.4;
      const q = quantizeMatrix(values, cols, bits);
      assert.equal(q.rows, 64);
      assert.equal(q.data.length, (values.length * bits) / 8);
      assert.equal(q.scales.length, values.length / 32);
      const back = dequantizeMatrix(q);
      const mid = 1 << (bits - 1);
      let clamped = 0;
      for (let i = 0; i < values.length; i++) {
        const step = Math.abs(q.scales[Math.floor(i / 32)]);
        const err = Math.abs(back[i] - values[i]);
        if (Math.round(values[i] / q.scales[Math.floor(i / 32)]) + mid > 2 * mid - 1) {
          clamped++;
          assert.ok(err <= step * (1 + 1e-6), `value ${i}: error ${err} > step ${step}`);
        } else {
          assert.ok(err <= step * (0.5 + 1e-6), `value ${i}: error ${err} > half step ${step / 2}`);
        }
      }
      assert.ok(clamped < values.length / 100, `${clamped} values clamped`);
    });

    it(`int${bits}: values on a block's grid come back exactly, and quantising is idempotent`, () => {
      const rng = new Prng(10 + bits);
      const mid = 1 << (bits - 1);
      const cols = 128;
      const grid = new Float32Array(8 * cols);
      for (let b = 0; b < grid.length / 32; b++) {
        const step = Math.fround(2 ** -(4 + (b % 5)) * (1 + rng.uniform()));
        for (let i = 0; i < 32; i++) grid[b * 32 + i] = step * (Math.floor(rng.uniform() * 2 * mid) - mid);
        grid[b * 32 + (b % 32)] = -mid * step; // the block's extreme: level 0, so its scale is exactly `step`
      }
      assert.deepEqual(dequantizeMatrix(quantizeMatrix(grid, cols, bits)), grid);

      // What the MLAS int4 MoE path relies on: re-quantising dequantised weights reproduces them bit for bit.
      const q = quantizeMatrix(normal(rng, 16 * cols, 1), cols, bits);
      const again = quantizeMatrix(dequantizeMatrix(q), cols, bits);
      assert.deepEqual(again.data, q.data);
      assert.deepEqual(again.scales, q.scales);
    });
  }

  it('lays bytes out as the kernels read them: row-major, even column in the low nibble, zero point 2^(bits−1)', () => {
    const row = Float32Array.from({ length: 64 }, (_, i) => (i < 16 ? i - 8 : 0)); // block 0: −8 … 7; block 1: zeros
    const q4 = quantizeMatrix(row, 64, 4);
    assert.deepEqual(Array.from(q4.scales), [1, 0]);
    assert.deepEqual(Array.from(q4.data.subarray(0, 8)), [0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe]);
    assert.deepEqual(Array.from(q4.data.subarray(8)), new Array(24).fill(0x88));
    const q8 = quantizeMatrix(row, 64, 8);
    assert.deepEqual(Array.from(q8.scales), [1 / 16, 0]);
    assert.deepEqual(Array.from(q8.data.subarray(0, 3)), [0, 16, 32]);
    assert.deepEqual(dequantizeMatrix(q8), row);
    // The sign of the largest value picks the scale's sign; on a tie the first one wins.
    assert.equal(quantizeMatrix(Float32Array.from({ length: 32 }, (_, i) => (i === 3 ? 2 : i === 9 ? -2 : 0)), 32, 4).scales[0], -0.25);
    assert.throws(() => quantizeMatrix(new Float32Array(48), 48, 4), /not a multiple of the block size 32/);
  });

  it('streams chunk by chunk: the same bytes as one pass, scales only after the data', () => {
    const rng = new Prng(3);
    const chunks = [normal(rng, 4 * 64, 1), normal(rng, 2 * 64, 1)];
    const streamed = quantizeChunks(() => chunks, 64, 4);
    assert.throws(() => [...streamed.scales()], /before their data/);
    const data = [...streamed.data()];
    const scales = [...streamed.scales()];
    const whole = quantizeMatrix(Float32Array.from([...chunks[0], ...chunks[1]]), 64, 4);
    assert.deepEqual(Uint8Array.from(data.flatMap((d) => [...d])), whole.data);
    assert.deepEqual(Float32Array.from(scales.flatMap((s) => [...s])), whole.scales);
  });

  it('converts float32 to IEEE half, rounding to nearest even', () => {
    const values = Float32Array.from([0, -0, 1, -2, 0.1, 65504, 65520, 1e-8, 2 ** -24, 6.1e-5, Infinity, NaN]);
    const halves = toFloat16(values);
    assert.deepEqual(Array.from(halves.subarray(0, 7)), [0x0000, 0x8000, 0x3c00, 0xc000, 0x2e66, 0x7bff, 0x7c00]);
    assert.deepEqual(Array.from(halves.subarray(7, 9)), [0x0000, 0x0001]);
    const back = fromFloat16(halves);
    assert.ok(Math.abs(back[9] - 6.1e-5) < 2 ** -24);
    assert.equal(back[10], Infinity);
    assert.ok(Number.isNaN(back[11]));
  });
});

describe('GraphBuilder weights of other element types', () => {
  it('stores uint8 and float16 weights beside float32 ones: external data 64 KiB-aligned in one file, small ones inline', () => {
    const dir = fs.mkdtempSync(path.join(work, 'store-'));
    const weights = new ExternalWeights(path.join(dir, 'w.bin'), 'w.bin');
    const g = new GraphBuilder(weights);
    const bytes = Uint8Array.from({ length: 3000 }, (_, i) => i % 251);
    const halves = Uint16Array.from({ length: 700 }, (_, i) => i);
    const floats = Float32Array.from({ length: 300 }, (_, i) => i / 7);
    g.weight('u8', [3, 1000], () => [bytes.subarray(0, 1000), bytes.subarray(1000)], 'uint8');
    g.weight('f16', [700], () => [halves], 'float16');
    g.weight('f32', [300], () => [floats]); // the float32 API as before
    g.weight('small', [2, 4], () => [Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8])], 'uint8');
    assert.throws(() => g.weight('wrong', [4], () => [new Float32Array(4)] as unknown as Uint8Array[], 'uint8'), /got a chunk of Float32Array/);
    assert.throws(() => g.weight('short', [2000], () => [bytes.subarray(0, 1999)], 'uint8'), /has 1999 values for dims \[2000\]/);
    g.output('unused', 'float', [1]);
    weights.close();
    const { graph } = onnxProto.onnx.ModelProto.decode(g.finish('store'));
    const file = fs.readFileSync(path.join(dir, 'w.bin'));
    const DT = onnxProto.onnx.TensorProto.DataType;
    const byName = new Map(graph!.initializer!.map((t) => [t.name!, t]));
    const stored = (name: string) => {
      const t = byName.get(name)!;
      const field = (key: string) => Number(t.externalData!.find((e) => e.key === key)!.value);
      assert.equal(field('offset') % 65536, 0);
      return { type: t.dataType, bytes: file.subarray(field('offset'), field('offset') + field('length')) };
    };
    assert.deepEqual(stored('u8'), { type: DT.UINT8, bytes: Buffer.from(bytes) });
    assert.deepEqual(stored('f16'), { type: DT.FLOAT16, bytes: Buffer.from(halves.buffer) });
    assert.deepEqual(stored('f32'), { type: DT.FLOAT, bytes: Buffer.from(floats.buffer) });
    const small = byName.get('small')!;
    assert.equal(small.dataType, DT.UINT8);
    assert.deepEqual(Array.from(small.rawData!), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(small.externalData?.length ?? 0, 0);
  });
});

/** A float64 restatement of the fused MoE op over given expert matrices (fc1 rows interleaved gate, up). */
function moeReference(x: Float32Array, z: Float32Array, fc1: Float32Array[], fc2: Float32Array[], dims: { T: number; H: number; I: number },
  options: QMoEOptions & { fc1Bias?: Float32Array[]; fc2Bias?: Float32Array[]; weights?: Float32Array }): Float64Array {
  const { T, H, I } = dims;
  const E = fc1.length;
  const act = options.activation ?? { alpha: 1, beta: 0, limit: Infinity };
  const out = new Float64Array(T * H);
  for (let t = 0; t < T; t++) {
    const zt = Array.from(z.subarray(t * E, (t + 1) * E));
    const selected = [...zt.keys()].sort((a, b) => zt[b] - zt[a] || a - b).slice(0, options.k);
    const top = Math.max(...zt);
    const total = zt.reduce((a, v) => a + Math.exp(v - top), 0);
    let w = selected.map((e) => (options.weights ? options.weights[t * E + e] : Math.exp(zt[e] - top) / total));
    if (options.normalize) {
      const sum = w.reduce((a, b) => a + b, 0);
      w = w.map((v) => v / sum);
    }
    selected.forEach((e, j) => {
      const h = new Float64Array(I);
      for (let i = 0; i < I; i++) {
        let gate = options.fc1Bias ? options.fc1Bias[e][2 * i] : 0;
        let up = options.fc1Bias ? options.fc1Bias[e][2 * i + 1] : 0;
        for (let c = 0; c < H; c++) {
          gate += fc1[e][2 * i * H + c] * x[t * H + c];
          up += fc1[e][(2 * i + 1) * H + c] * x[t * H + c];
        }
        gate = Math.min(gate, act.limit);
        up = Math.max(-act.limit, Math.min(up, act.limit));
        h[i] = (gate / (1 + Math.exp(-act.alpha * gate))) * (up + act.beta);
      }
      for (let o = 0; o < H; o++) {
        let acc = options.fc2Bias ? options.fc2Bias[e][o] : 0;
        for (let i = 0; i < I; i++) acc += fc2[e][o * I + i] * h[i];
        out[t * H + o] += w[j] * acc;
      }
    });
  }
  return out;
}

describe('quantised ops on onnxruntime-node', () => {
  // H ≠ I, and neither equal to 2I: QMoE reads fc2 [E, I, H] ("legacy" layout) when fc2's dims look that way.
  const E = 6;
  const H = 64;
  const I = 96;
  const T = 5;
  const rng = new Prng(42);
  const fc1 = Array.from({ length: E }, () => normal(rng, 2 * I * H, 0.05));
  const fc2 = Array.from({ length: E }, () => normal(rng, H * I, 0.05));
  const x = normal(rng, T * H, 1);
  const z = normal(rng, T * E, 2);
  const dequantised = (bits: QuantBits) => ({
    fc1: fc1.map((m) => dequantizeMatrix(quantizeMatrix(m, H, bits))),
    fc2: fc2.map((m) => dequantizeMatrix(quantizeMatrix(m, I, bits))),
  });
  const experts = { fc1: () => fc1, fc2: () => fc2 };
  const qmoeGraph = (bits: QuantBits, options: QMoEOptions, extra: Partial<Parameters<typeof quantizedExperts>[3]> = {}) =>
    (g: GraphBuilder) => qmoe(g, 'x', 'z', quantizedExperts(g, 'moe', { experts: E, hidden: H, inter: I }, { ...experts, ...extra }, bits), options);
  const feeds = { x: f32(x, [T, H]), z: f32(z, [T, E]) };

  const cases: { bits: QuantBits; mlas: boolean }[] = [{ bits: 4, mlas: true }, { bits: 4, mlas: false }, { bits: 8, mlas: false }];
  for (const { bits, mlas } of cases) {
    for (const k of [2, E]) {
      for (const normalize of [true, false]) {
        it(`QMoE int${bits}${mlas ? ' (MLAS Q4 path)' : ''}, k ${k} of ${E}, ${normalize ? '' : 'not '}normalised`, async (t) => {
          const options = { k, normalize };
          const y = await runGraph(qmoeGraph(bits, options), [T, H], feeds, { mlasQ4Moe: mlas });
          const d = dequantised(bits);
          const tight = relError(y, moeReference(x, z, d.fc1, d.fc2, { T, H, I }, options));
          const original = moeReference(x, z, fc1, fc2, { T, H, I }, options);
          const loose = rmsError(y, original);
          t.diagnostic(`max error vs dequantised weights ${tight.toExponential(1)}; vs original float weights: ` +
            `‖Δ‖/‖y‖ ${loose.toExponential(1)}, max ${relError(y, original).toExponential(1)}`);
          assert.ok(tight < 1e-4, `relative error ${tight} against the dequantised weights`);
          assert.ok(loose < LOOSE[bits], `relative error ${loose} against the original weights`);
        });
      }
    }
  }

  it('QMoE op contract: normalize_routing_weights = 0 only applies with router_weights', async () => {
    // The raw op, without qmoe()'s router_weights for the unnormalised case: it renormalises anyway.
    const raw = await runGraph((g) => {
      const w = quantizedExperts(g, 'moe', { experts: E, hidden: H, inter: I }, experts, 8);
      return g.op1('QMoE', ['x', 'z', w.fc1, w.fc1Scales, '', w.fc2, w.fc2Scales, ''], {
        k: 2, expert_weight_bits: 8, block_size: 32, activation_type: 'swiglu', swiglu_fusion: 1, normalize_routing_weights: 0,
      }, 'com.microsoft');
    }, [T, H], feeds);
    const d = dequantised(8);
    assert.ok(relError(raw, moeReference(x, z, d.fc1, d.fc2, { T, H, I }, { k: 2, normalize: true })) < 1e-4);
    assert.ok(relError(raw, moeReference(x, z, d.fc1, d.fc2, { T, H, I }, { k: 2, normalize: false })) > 0.05);

    // Explicit router_weights: selection from router logits, weights from the given rows (renormalised iff asked).
    const weights = Float32Array.from({ length: T * E }, (_, i) => 0.05 + ((i * 7) % 11) / 10);
    for (const normalize of [true, false]) {
      const y = await runGraph((g) => qmoe(g, 'x', 'z', quantizedExperts(g, 'moe', { experts: E, hidden: H, inter: I }, experts, 8),
        { k: 3, normalize, routerWeights: 'w' }), [T, H], { ...feeds, w: f32(weights, [T, E]) });
      assert.ok(relError(y, moeReference(x, z, d.fc1, d.fc2, { T, H, I }, { k: 3, normalize, weights })) < 1e-4);
    }
  });

  it('QMoE with biases and the clamped SwiGLU (gpt-oss: alpha 1.702, beta 1, limit 7)', async (t) => {
    const fc1Bias = Array.from({ length: E }, () => normal(rng, 2 * I, 0.5));
    const fc2Bias = Array.from({ length: E }, () => normal(rng, H, 0.5));
    const options: QMoEOptions = { k: 2, normalize: true, activation: { alpha: 1.702, beta: 1, limit: 7 } };
    const bigX = Float32Array.from(x, (v) => v * 8); // drives some gate/up values past the limit
    for (const mlas of [true, false]) {
      const y = await runGraph(qmoeGraph(4, options, { fc1Bias: () => fc1Bias, fc2Bias: () => fc2Bias }), [T, H],
        { x: f32(bigX, [T, H]), z: feeds.z }, { mlasQ4Moe: mlas });
      const d = dequantised(4);
      const err = relError(y, moeReference(bigX, z, d.fc1, d.fc2, { T, H, I }, { ...options, fc1Bias, fc2Bias }));
      t.diagnostic(`${mlas ? 'MLAS' : 'dequantise'} path: ${err.toExponential(1)}`);
      assert.ok(err < 1e-4);
    }
  });

  for (const bits of [4, 8] as const) {
    for (const accuracyLevel of [0, 4] as AccuracyLevel[]) {
      it(`MatMulNBits int${bits}, accuracy_level ${accuracyLevel}, with bias`, async (t) => {
        const N = 80;
        const K = 128;
        const rows = 3;
        const w = normal(rng, N * K, 0.05);
        const bias = normal(rng, N, 0.1);
        const a = normal(rng, rows * K, 1);
        // Two chunks of rows, as a large matrix would be streamed.
        const y = await runGraph((g) => matMulNBits(g, 'a', quantizedWeight(g, 'w', N, K, () => [w.subarray(0, 32 * K), w.subarray(32 * K)], bits),
          { bias: g.weight('bias', [N], () => [bias]), accuracyLevel }), [rows, N], { a: f32(a, [rows, K]) });
        const linear = (m: Float32Array) => Float64Array.from({ length: rows * N }, (_, i) => {
          const [r, o] = [Math.floor(i / N), i % N];
          let acc = bias[o];
          for (let c = 0; c < K; c++) acc += m[o * K + c] * a[r * K + c];
          return acc;
        });
        const tight = relError(y, linear(dequantizeMatrix(quantizeMatrix(w, K, bits))));
        const original = linear(w);
        const loose = rmsError(y, original);
        t.diagnostic(`max error vs dequantised weights ${tight.toExponential(1)}; vs original float weights: ` +
          `‖Δ‖/‖y‖ ${loose.toExponential(1)}, max ${relError(y, original).toExponential(1)}`);
        // accuracy_level 4 quantises the activations to int8 as well.
        assert.ok(tight < (accuracyLevel === 4 ? 3e-2 : 1e-5), `relative error ${tight}`);
        assert.ok(loose < LOOSE[bits] + (accuracyLevel === 4 ? 0.01 : 0), `relative error ${loose} against the original weights`);
      });
    }
  }

  const V = 40;
  const table = normal(rng, V * H, 0.05);
  const ids = BigInt64Array.from([3n, 0n, 39n, 3n, 17n]);
  const rowsOf = (m: Float32Array) => Float32Array.from(Array.from(ids).flatMap((i) => Array.from(m.subarray(Number(i) * H, (Number(i) + 1) * H))));

  for (const bits of [4, 8] as const) {
    it(`embedding table int${bits}: GatherBlockQuantized returns the dequantised rows exactly; one copy also serves as the LM head`, async () => {
      const y = await runGraph((g) => gatherQuantized(g, quantizedWeight(g, 'embed', V, H, () => [table], bits), 'ids', (v) => g.constInt(v)),
        [ids.length, H], { ids: { type: 'int64', data: ids, dims: [ids.length] } });
      assert.deepEqual(y, rowsOf(dequantizeMatrix(quantizeMatrix(table, H, bits))));

      // Tied embeddings: the table's bytes are a MatMulNBits B as they are.
      const logits = await runGraph((g) => {
        const w = quantizedWeight(g, 'embed', V, H, () => [table], bits);
        const hidden = gatherQuantized(g, w, 'ids', (v) => g.constInt(v));
        return matMulNBits(g, hidden, w, { accuracyLevel: 0 });
      }, [ids.length, V], { ids: { type: 'int64', data: ids, dims: [ids.length] } });
      const d = dequantizeMatrix(quantizeMatrix(table, H, bits));
      const rows = rowsOf(d);
      const expected = Float64Array.from({ length: ids.length * V }, (_, i) => {
        let acc = 0;
        for (let c = 0; c < H; c++) acc += rows[Math.floor(i / V) * H + c] * d[(i % V) * H + c];
        return acc;
      });
      assert.ok(relError(logits, expected) < 1e-5);
    });
  }

  it('embedding table float16: Gather + Cast returns the rounded rows exactly', async () => {
    const y = await runGraph((g) => gatherFloat16(g, float16Table(g, 'embed', V, H, () => [table]), 'ids'),
      [ids.length, H], { ids: { type: 'int64', data: ids, dims: [ids.length] } });
    const rounded = fromFloat16(toFloat16(table));
    assert.deepEqual(y, rowsOf(rounded));
    assert.ok(relError(rounded, table) < 1e-3);
  });
});
