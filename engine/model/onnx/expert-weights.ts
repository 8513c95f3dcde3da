import { decodeMxfp4 } from '../mxfp4.ts';
import type { ExpertTensors, ModelSpec } from '../spec.ts';
import type { WeightSource } from '../weights.ts';

/**
 * A layer's routed experts in the fused MoE op's layout, whatever the checkpoint's: per expert, fc1 [2I, H] with
 * gate and up rows interleaved (gate row i at 2i, up row i at 2i + 1) and fc2 [H, I]; biases [2I] and [H] when the
 * family has them. Produced one expert at a time, so a quantiser or writer never needs the whole layer as float32.
 */
export interface ExpertMatrices {
  fc1(): Iterable<Float32Array>;
  fc2(): Iterable<Float32Array>;
  fc1Bias?(): Iterable<Float32Array>;
  fc2Bias?(): Iterable<Float32Array>;
}

export function checkShape(weights: WeightSource, name: string, expected: number[]): void {
  const actual = weights.shape(name);
  if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
    throw new Error(`tensor ${name} has shape ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)} from config.json`);
  }
}

export function expertMatrices(spec: ModelSpec, weights: WeightSource, tensors: ExpertTensors): ExpertMatrices {
  switch (tensors.layout) {
    case 'per-expert':
      return perExpert(spec, weights, tensors);
    case 'gpt-oss':
      return gptOss(spec, weights, tensors);
    case 'granite':
      return granite(spec, weights, tensors);
  }
}

/** Interleaves gate [I, H] and up [I, H] rows into [2I, H]. */
function interleaveRows(gate: Float32Array, up: Float32Array, I: number, H: number): Float32Array {
  const out = new Float32Array(2 * I * H);
  for (let i = 0; i < I; i++) {
    out.set(gate.subarray(i * H, (i + 1) * H), 2 * i * H);
    out.set(up.subarray(i * H, (i + 1) * H), (2 * i + 1) * H);
  }
  return out;
}

/** [rows, cols] → [cols, rows]. */
function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c];
  return out;
}

function* perExpertSlices(whole: Float32Array, E: number): Generator<Float32Array> {
  const size = whole.length / E;
  for (let e = 0; e < E; e++) yield whole.subarray(e * size, (e + 1) * size);
}

function perExpert(spec: ModelSpec, weights: WeightSource, t: Extract<ExpertTensors, { layout: 'per-expert' }>): ExpertMatrices {
  const { numExperts: E, moeIntermediateSize: I, hiddenSize: H } = spec;
  return {
    *fc1() {
      for (let e = 0; e < E; e++) {
        checkShape(weights, t.gate(e), [I, H]);
        checkShape(weights, t.up(e), [I, H]);
        yield interleaveRows(weights.read(t.gate(e)), weights.read(t.up(e)), I, H);
      }
    },
    *fc2() {
      for (let e = 0; e < E; e++) {
        checkShape(weights, t.down(e), [H, I]);
        yield weights.read(t.down(e));
      }
    },
  };
}

/** gpt-oss: gate_up [E, H, 2I] already interleaved along 2I, down [E, I, H] (input-major), or MXFP4 [E, out, in]. */
function gptOss(spec: ModelSpec, weights: WeightSource, t: Extract<ExpertTensors, { layout: 'gpt-oss' }>): ExpertMatrices {
  const { numExperts: E, moeIntermediateSize: I, hiddenSize: H } = spec;
  const mxfp4 = function* (name: string, rows: number, cols: number): Generator<Float32Array> {
    checkShape(weights, `${name}_blocks`, [E, rows, cols / 32, 16]);
    checkShape(weights, `${name}_scales`, [E, rows, cols / 32]);
    const blocks = weights.readBytes(`${name}_blocks`);
    const scales = weights.readBytes(`${name}_scales`);
    const blockBytes = rows * cols / 2;
    const scaleBytes = rows * cols / 32;
    for (let e = 0; e < E; e++) {
      yield decodeMxfp4(blocks.subarray(e * blockBytes, (e + 1) * blockBytes), scales.subarray(e * scaleBytes, (e + 1) * scaleBytes), rows, cols);
    }
  };
  const transposed = function* (name: string, inDim: number, outDim: number): Generator<Float32Array> {
    checkShape(weights, name, [E, inDim, outDim]);
    for (const m of perExpertSlices(weights.read(name), E)) yield transpose(m, inDim, outDim);
  };
  const bias = (name: string, dim: number) => function* () {
    checkShape(weights, name, [E, dim]);
    yield* perExpertSlices(weights.read(name), E);
  };
  return {
    fc1: () => (t.mxfp4 ? mxfp4(t.gateUp, 2 * I, H) : transposed(t.gateUp, H, 2 * I)),
    fc2: () => (t.mxfp4 ? mxfp4(t.down, H, I) : transposed(t.down, I, H)),
    fc1Bias: bias(t.gateUpBias, 2 * I),
    fc2Bias: bias(t.downBias, H),
  };
}

/** Granite-MoE: input_linear [E, 2I, H] with the gate's I rows first, output_linear [E, H, I]. */
function granite(spec: ModelSpec, weights: WeightSource, t: Extract<ExpertTensors, { layout: 'granite' }>): ExpertMatrices {
  const { numExperts: E, moeIntermediateSize: I, hiddenSize: H } = spec;
  return {
    *fc1() {
      checkShape(weights, t.inputLinear, [E, 2 * I, H]);
      for (const m of perExpertSlices(weights.read(t.inputLinear), E)) yield interleaveRows(m.subarray(0, I * H), m.subarray(I * H), I, H);
    },
    *fc2() {
      checkShape(weights, t.outputLinear, [E, H, I]);
      yield* perExpertSlices(weights.read(t.outputLinear), E);
    },
  };
}
