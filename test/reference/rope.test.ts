import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyRope, ropeForLength, ropeFromConfig } from './rope.ts';

const HEAD_DIM = 8;
const DEFAULT = [1, 10000 ** -0.25, 10000 ** -0.5, 10000 ** -0.75];

function assertClose(actual: ArrayLike<number>, expected: number[]) {
  assert.equal(actual.length, expected.length);
  expected.forEach((value, i) => assert.ok(Math.abs(actual[i] - value) < 1e-12 * Math.abs(value) + 1e-15, `${i}: ${actual[i]} vs ${value}`));
}

describe('ropeFromConfig follows HF _compute_*_parameters', () => {
  it('default: theta^(-2i/d), no attention scaling; 4.x rope_theta and 5.x rope_parameters agree', () => {
    const v4 = ropeFromConfig({ rope_theta: 10000, rope_scaling: null }, HEAD_DIM);
    assertClose(v4.invFreq, DEFAULT);
    assert.equal(v4.attentionFactor, 1);
    const v5 = ropeFromConfig({ rope_parameters: { rope_type: 'default', rope_theta: 10000 } }, HEAD_DIM);
    assert.deepEqual(v5, v4);
  });

  it('linear divides every frequency by the factor', () => {
    const rope = ropeFromConfig({ rope_theta: 10000, rope_scaling: { type: 'linear', factor: 2 } }, HEAD_DIM);
    assertClose(rope.invFreq, DEFAULT.map((f) => f / 2));
  });

  it('llama3 keeps short wavelengths, divides long ones, blends the band between', () => {
    const scaling = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 128 };
    const { invFreq } = ropeFromConfig({ rope_theta: 10000, rope_scaling: scaling }, HEAD_DIM);
    // Wavelengths 2π/f: 6.3 (< 128/4, kept), 62.8 (between, blended), 628 and 6283 (> 128, divided).
    assertClose([invFreq[0], invFreq[2], invFreq[3]], [DEFAULT[0], DEFAULT[2] / 8, DEFAULT[3] / 8]);
    const smooth = (128 / ((2 * Math.PI) / DEFAULT[1]) - 1) / 3;
    assertClose([invFreq[1]], [(1 - smooth) * (DEFAULT[1] / 8) + smooth * DEFAULT[1]]);
  });

  it('yarn: factor from the two context lengths, ramp between extrapolated and interpolated, mscale', () => {
    const config = {
      rope_theta: 10000,
      max_position_embeddings: 256,
      rope_scaling: { rope_type: 'yarn', factor: 2, original_max_position_embeddings: 64 },
    };
    const rope = ropeFromConfig(config, HEAD_DIM);
    // factor = 256 / 64 = 4; correction range [floor(-0.50), ceil(1.01)] = [0, 2], so the ramp is 0, ½, 1, 1.
    assertClose(rope.invFreq, [DEFAULT[0], (DEFAULT[1] / 4 + DEFAULT[1]) / 2, DEFAULT[2] / 4, DEFAULT[3] / 4]);
    assertClose([rope.attentionFactor], [0.1 * Math.log(4) + 1]);
  });

  it('longrope: short or long factor per frequency and mscale, switching past the pretrained context', () => {
    const scaling = { type: 'longrope', short_factor: [1, 2, 4, 8], long_factor: [3, 3, 3, 3], short_mscale: 1.1, long_mscale: 1.3, original_max_position_embeddings: 64 };
    const rope = ropeFromConfig({ rope_theta: 10000, max_position_embeddings: 256, rope_scaling: scaling }, HEAD_DIM);
    const short = ropeForLength(rope, 64);
    assertClose(short.invFreq, DEFAULT.map((f, i) => f / 2 ** i));
    assert.equal(short.attentionFactor, 1.1);
    const long = ropeForLength(rope, 65);
    assertClose(long.invFreq, DEFAULT.map((f) => f / 3));
    assert.equal(long.attentionFactor, 1.3);
    const withoutMscale = ropeFromConfig({ rope_theta: 10000, max_position_embeddings: 256, rope_scaling: { ...scaling, short_mscale: undefined } }, HEAD_DIM);
    assertClose([withoutMscale.attentionFactor], [Math.sqrt(1 + Math.log(4) / Math.log(64))]);
    assert.throws(() => ropeFromConfig({ rope_theta: 10000, max_position_embeddings: 256, rope_scaling: { ...scaling, short_factor: [1] } }, HEAD_DIM), /4 numbers/);
  });

  it('unsupported types are refused', () => {
    assert.throws(() => ropeFromConfig({ rope_theta: 10000, rope_scaling: { rope_type: 'dynamic', factor: 2 } }, HEAD_DIM), /dynamic/);
  });
});

describe('applyRope rotates each pair by position · invFreq[i]', () => {
  const rope = ropeFromConfig({ rope_theta: 10000 }, HEAD_DIM);

  it('rotate-half layout: pairs (i, i + d/2)', () => {
    const head = Float64Array.of(0, 1, 0, 0, 0, 0, 0, 0, 99);
    applyRope(head, 0, 3, rope);
    const angle = 3 * DEFAULT[1];
    assertClose(head, [0, Math.cos(angle), 0, 0, 0, Math.sin(angle), 0, 0, 99]);
  });

  it('pairs layout (DeepSeek): pairs (2i, 2i + 1), from an offset', () => {
    const head = Float64Array.of(99, 0, 0, 1, 0, 0, 0, 0, 0);
    applyRope(head, 1, 3, rope, 'pairs');
    const angle = 3 * DEFAULT[1];
    assertClose(head, [99, 0, 0, Math.cos(angle), Math.sin(angle), 0, 0, 0, 0]);
  });
});
