import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { crc32, crc32Table } from '../../engine/store/crc32.ts';

describe('crc32', () => {
  it('gives the standard check values', () => {
    for (const f of [crc32, crc32Table]) {
      assert.equal(f(Buffer.from('123456789')), 0xcbf43926);
      assert.equal(f(new Uint8Array(0)), 0);
      assert.equal(f(Buffer.from('The quick brown fox jumps over the lazy dog')), 0x414fa339);
    }
  });

  it('the table-driven fallback agrees with zlib on random data, views included', () => {
    const bytes = crypto.randomBytes(100_003);
    assert.equal(crc32Table(bytes), crc32(bytes));
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset + 7, 5000);
    assert.equal(crc32Table(view), crc32(view));
    if (typeof (zlib as { crc32?: unknown }).crc32 === 'function') assert.equal(crc32(bytes), zlib.crc32(bytes));
  });
});
