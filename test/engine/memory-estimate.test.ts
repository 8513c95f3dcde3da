import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parameterCount } from '../../engine/model/checkpoint.ts';
import { choosePrecision, estimateMemory, type MemorySpec } from '../../engine/model/memory-estimate.ts';
import type { ModelSpec } from '../../engine/model/spec.ts';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** allenai/OLMoE-1B-7B-0924 config.json. */
const OLMOE: MemorySpec = {
  vocabSize: 50304, hiddenSize: 2048, numLayers: 16, numHeads: 16, numKvHeads: 16, headDim: 128, valueHeadDim: 128,
  mla: null, norm: 'rms', tieWordEmbeddings: false, attentionBias: false, qkNorm: 'projection',
  numExperts: 64, topK: 8, moeIntermediateSize: 1024, denseIntermediateSize: 0, sharedExpertIntermediateSize: 0,
  sharedExpertGate: false, moeLayers: new Array(16).fill(true),
};

/** Qwen/Qwen3-30B-A3B config.json. */
const QWEN3: MemorySpec = {
  vocabSize: 151936, hiddenSize: 2048, numLayers: 48, numHeads: 32, numKvHeads: 4, headDim: 128, valueHeadDim: 128,
  mla: null, norm: 'rms', tieWordEmbeddings: false, attentionBias: false, qkNorm: 'head',
  numExperts: 128, topK: 8, moeIntermediateSize: 768, denseIntermediateSize: 0, sharedExpertIntermediateSize: 0,
  sharedExpertGate: false, moeLayers: new Array(48).fill(true),
};

/**
 * Resident bytes per weight (engine/model/memory-estimate.ts, measured on onnxruntime 1.30) in the engine's one
 * session: mapped bytes plus prepacked bytes.
 */
const QMOE = { int8: 1.125, int4: 0.125 + 1.625 }; // int4: scales mapped, unpacked copy + MLAS blobs prepacked
const NBITS = { int8: 1.53, int4: 1.0 }; // MatMulNBits, accuracy_level 4: mapped scales + prepacked data
const GEMM = 4; // float32, prepacked
const TABLE = { f16: 2, int8: 1.125 }; // embedding tables, read in place
/** Whole bytes, as the estimate rounds each matrix's. */
const bytes = (x: number) => Math.round(x);

describe('memory estimate', () => {
  it('OLMoE-1B-7B: parameters per class, and bytes at each precision', () => {
    const experts = 16 * 64 * 3 * 2048 * 1024; // 6,442,450,944
    const dense = 16 * 4 * 2048 * 2048; // q, k, v, o
    const router = 16 * 64 * 2048;
    const table = 50304 * 2048;
    const norms = 16 * (2 * 2048 + 2 * 2048) + 2048; // input/post-attention norms, q/k norms over the projection, final
    const f32 = estimateMemory(OLMOE, 'f32', 4096);
    assert.deepEqual(f32.params, { experts, dense, router, embed: table, lmHead: table, norms });
    assert.equal(experts + dense + router + 2 * table + norms, 6_919_161_856); // "7B"
    // parameterCount (checkpoint.ts) leaves out the q/k norms.
    assert.equal(parameterCount(OLMOE as ModelSpec).total, 6_919_161_856 - 16 * 2 * 2048);

    assert.deepEqual(f32.weights, {
      experts: experts * 4, dense: dense * GEMM, router: router * GEMM, embed: table * 4, lmHead: table * GEMM, norms: norms * 4,
      total: (experts + table + norms) * 4 + (dense + router + table) * GEMM,
    });
    assert.equal(f32.weights.total, 6_919_161_856 * 4, 'every weight once');
    const int8 = estimateMemory(OLMOE, 'int8', 4096).weights;
    assert.equal(int8.experts, 7_247_757_312); // 6,442,450,944 × 1.125
    assert.equal(int8.dense, dense * GEMM, 'dense projections stay float32');
    assert.equal(int8.embed, table * TABLE.f16, 'the embedding table is float16');
    assert.equal(int8.lmHead, bytes(table * NBITS.int8));
    assert.equal(int8.router, router * GEMM);
    assert.equal(int8.total, experts * QMOE.int8 + dense * GEMM + router * GEMM + table * TABLE.f16 + bytes(table * NBITS.int8) + norms * 4);
    const int4 = estimateMemory(OLMOE, 'int4', 4096).weights;
    assert.equal(int4.experts, 11_274_289_152); // × 1.75: QMoE int4 is prepacked, larger than int8
    assert.equal(int4.dense, dense * GEMM);
    assert.equal(int4.embed, table * TABLE.f16);
    assert.equal(int4.lmHead, bytes(table * NBITS.int8)); // the LM head stays int8
  });

  it('OLMoE-1B-7B: KV cache and workspace at 4096 tokens, 2 threads', () => {
    const e = estimateMemory(OLMOE, 'int8', 4096);
    assert.equal(e.kvCache, 16 * 16 * 128 * 4096 * 2 * 4); // 1 GiB
    assert.equal(e.kvCache, GiB);
    const T = 512;
    assert.deepEqual(e.workspace, {
      runtime: 256 * MiB,
      kvStep: GiB,
      attention: 2 * 16 * T * 4096 * 4, // 256 MiB
      moe: 2 * (3 * 2048 * 1024 + T * (2 * 2048 + 3 * 1024) + T * 2048) * 4, // 84 MiB
      activations: 16 * T * 2048 * 4,
      logits: 50304 * 4,
      total: 256 * MiB + GiB + 256 * MiB + 88_080_384 + 67_108_864 + 201_216,
    });
    assert.equal(e.total, e.weights.total + e.kvCache + e.workspace.total);
    // A shorter context: smaller cache, and the step is the whole context.
    const short = estimateMemory(OLMOE, 'int8', 256, { threads: 1 });
    assert.equal(short.kvCache, 16 * 16 * 256 * 256 * 4);
    assert.equal(short.workspace.attention, 2 * 16 * 256 * 256 * 4);
    assert.equal(short.workspace.moe, (3 * 2048 * 1024 + 256 * (2 * 2048 + 3 * 1024) + 256 * 2048) * 4);
  });

  it('Qwen3-30B-A3B: parameters per class, bytes, and a 32k-token KV cache', () => {
    const experts = 48 * 128 * 3 * 2048 * 768; // 28,991,029,248
    const dense = 48 * (4096 * 2048 + 2 * 512 * 2048 + 2048 * 4096); // q [32·128, H], k and v [4·128, H], o [H, 32·128]
    const router = 48 * 128 * 2048;
    const table = 151936 * 2048;
    const norms = 48 * (2 * 2048 + 2 * 128) + 2048; // q/k norms per head
    const e = estimateMemory(QWEN3, 'int8', 32768);
    assert.deepEqual(e.params, { experts, dense, router, embed: table, lmHead: table, norms });
    assert.equal(experts + dense + router + 2 * table + norms, 30_532_122_624); // "30B"
    assert.equal(parameterCount(QWEN3 as ModelSpec).total, 30_532_122_624 - 48 * 2 * 128);
    assert.equal(e.weights.experts, 32_614_907_904); // × 1.125
    assert.equal(e.weights.total, experts * QMOE.int8 + dense * GEMM + router * GEMM + table * TABLE.f16 + bytes(table * NBITS.int8) + norms * 4);
    assert.equal(e.kvCache, 48 * 4 * 128 * 32768 * 2 * 4); // 6 GiB
    assert.equal(e.kvCache, 6 * GiB);
    assert.equal(e.workspace.attention, 2 * 32 * 512 * 32768 * 4); // 4 GiB: one layer's scores and probabilities
    assert.equal(estimateMemory(QWEN3, 'f32', 32768).weights.total, 30_532_122_624 * 4);
    assert.equal(estimateMemory(QWEN3, 'int4', 32768).weights.experts, experts * QMOE.int4);
  });

  it('keeps matrices float32 when their input dimension is not a multiple of the block; ties one table to the head', () => {
    const odd: MemorySpec = { ...OLMOE, numLayers: 1, moeLayers: [true], moeIntermediateSize: 1000 }; // fc2's input: 1000
    const e = estimateMemory(odd, 'int4', 128);
    assert.equal(e.weights.experts, 64 * 3 * 2048 * 1000 * 4); // both expert matrices: QMoE takes a layer whole
    assert.equal(e.weights.dense, 4 * 2048 * 2048 * GEMM);

    const tied = estimateMemory({ ...OLMOE, tieWordEmbeddings: true }, 'int4', 128);
    assert.equal(tied.params.lmHead, 0);
    // One int8 table (the head's format): the lookup reads it as stored, the head's kernel keeps a packed copy.
    assert.equal(tied.weights.embed, bytes(50304 * 2048 * (TABLE.int8 + NBITS.int8 - 0.125))); // the scales are one tensor
    assert.equal(tied.weights.lmHead, 0);
    const tiedF32 = estimateMemory({ ...OLMOE, tieWordEmbeddings: true }, 'f32', 128);
    assert.equal(tiedF32.weights.embed, 50304 * 2048 * 8);
  });

  it('chooses the widest precision that fits, or none, with the numbers', () => {
    const f32 = estimateMemory(OLMOE, 'f32', 4096).total;
    const int8 = estimateMemory(OLMOE, 'int8', 4096).total;
    const int4 = estimateMemory(OLMOE, 'int4', 4096).total;
    assert.ok(f32 > int4 && int4 > int8, 'on onnxruntime 1.30 resident int4 experts outweigh int8');

    const roomy = choosePrecision(OLMOE, 64 * GiB, 4096);
    assert.equal(roomy.precision, 'f32');
    assert.equal(roomy.estimates.length, 1);
    assert.match(roomy.reason, /^f32: needs 2\d\.\d\d GiB of 64\.00 GiB available at a context of 4096 tokens$/);

    const mid = choosePrecision(OLMOE, 16 * GiB, 4096);
    assert.equal(mid.precision, 'int8');
    assert.match(mid.reason, /^int8: needs \d+\.\d\d GiB of 16\.00 GiB .* \(f32 needs 2\d\.\d\d GiB\)$/);
    assert.equal(choosePrecision(OLMOE, int8, 4096).precision, 'int8'); // exactly enough

    const tight = choosePrecision(OLMOE, int8 - 1, 4096);
    assert.equal(tight.precision, null);
    assert.deepEqual(tight.estimates.map((e) => e.precision), ['f32', 'int8', 'int4']);
    assert.match(tight.reason, /^no precision fits in \d+\.\d\d GiB at a context of 4096 tokens: f32 needs .*weights .*KV cache 1\.00 GiB.*; the smallest, int8, is 0\.00 GiB short$/);

    // A longer context moves the choice: Qwen3-30B-A3B on a 48 GiB machine.
    assert.equal(choosePrecision(QWEN3, 48 * GiB, 4096).precision, 'int8');
    assert.equal(choosePrecision(QWEN3, 48 * GiB, 131072).precision, null);
    assert.throws(() => estimateMemory(QWEN3, 'int8', 0), /context must be a positive number/);
  });
});
