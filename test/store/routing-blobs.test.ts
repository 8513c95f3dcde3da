import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { float32FromBlob, float64FromBlob, int16FromBlob, int32FromBlob, toBlob } from '../../engine/store/routing-blobs.ts';

describe('routing blobs', () => {
  it('round-trips int16, int32, float32 and float64 arrays', () => {
    const i16 = Int16Array.of(-1, 0, 7, 32767, -32768);
    const i32 = Int32Array.of(-1, 151_643, 2 ** 31 - 1);
    const f32 = Float32Array.of(0.25, -1e-7, Infinity, NaN);
    const f64 = Float64Array.of(1 / 3, -1e-300, Infinity, NaN);
    assert.deepEqual(int16FromBlob(toBlob(i16)), i16);
    assert.deepEqual(int32FromBlob(toBlob(i32)), i32);
    assert.deepEqual(float32FromBlob(toBlob(f32)), f32);
    assert.deepEqual(float64FromBlob(toBlob(f64)), f64);
  });

  it('writes little-endian bytes', () => {
    assert.deepEqual([...toBlob(Int16Array.of(0x0102))], [0x02, 0x01]);
    assert.deepEqual([...toBlob(Float32Array.of(1))], [0, 0, 0x80, 0x3f]);
    assert.deepEqual([...toBlob(Float64Array.of(1))], [0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
  });

  it('encodes only the view, not the rest of its buffer, and copies it', () => {
    const whole = Int32Array.of(1, 2, 3, 4);
    const blob = toBlob(whole.subarray(1, 3));
    whole[1] = 99;
    assert.deepEqual(int32FromBlob(blob), Int32Array.of(2, 3));
  });

  it('decodes a BLOB at an unaligned offset into memory of its own', () => {
    const bytes = Buffer.alloc(9);
    toBlob(Float32Array.of(1.5, -2)).copy(bytes, 1);
    const blob = bytes.subarray(1);
    const decoded = float32FromBlob(blob);
    assert.deepEqual(decoded, Float32Array.of(1.5, -2));
    blob.fill(0);
    assert.deepEqual(decoded, Float32Array.of(1.5, -2));
  });

  it('refuses a BLOB whose length is not a whole number of elements', () => {
    assert.throws(() => int32FromBlob(Buffer.alloc(6)), /6 bytes cannot hold 4-byte elements/);
  });
});
