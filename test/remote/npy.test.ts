import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readNpy } from '../../engine/remote/vllm.ts';

/** An .npy file as numpy.save writes it (format 1.0 or 2.0), for the element bytes given. */
function npy(descr: string, shape: number[], data: Buffer, opts: { version?: 1 | 2; fortran?: boolean } = {}): Buffer {
  const version = opts.version ?? 1;
  const prefix = version === 1 ? 10 : 12;
  let header = `{'descr': '${descr}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((prefix + header.length) % 64)) + '\n';
  const length = Buffer.alloc(version === 1 ? 2 : 4);
  if (version === 1) length.writeUInt16LE(header.length);
  else length.writeUInt32LE(header.length);
  return Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([version, 0]), length, Buffer.from(header, 'latin1'), data]);
}

describe('.npy routed experts (vLLM)', () => {
  it('reads uint8, little-endian uint16 and int32 arrays of format 1.0 and 2.0', () => {
    assert.deepEqual(readNpy(npy('|u1', [2, 1, 2], Buffer.from([0, 255, 7, 3])), 'f'), { shape: [2, 1, 2], values: Int32Array.from([0, 255, 7, 3]) });
    const u2 = Buffer.alloc(4);
    u2.writeUInt16LE(300, 0);
    u2.writeUInt16LE(65535, 2);
    assert.deepEqual(readNpy(npy('<u2', [1, 1, 2], u2, { version: 2 }), 'f').values, Int32Array.from([300, 65535]));
    const i4 = Buffer.alloc(8);
    i4.writeInt32LE(383, 0);
    i4.writeInt32LE(-1, 4);
    assert.deepEqual(readNpy(npy('<i4', [1, 2, 1], i4), 'f').values, Int32Array.from([383, -1]));
  });

  it('refuses what is not a C-order integer .npy array, naming the field and the problem', () => {
    const field = 'choices[0].routed_experts';
    const fails = (bytes: Buffer, problem: RegExp) => assert.throws(() => readNpy(bytes, field), (err: Error) =>
      err.message.startsWith(`${field} is not a NumPy .npy array: `) && problem.test(err.message));
    fails(Buffer.from('not numpy at all'), /no \\x93NUMPY header/);
    fails(npy('<f4', [1, 1, 1], Buffer.alloc(4)), /element type <f4 is not an integer type/);
    fails(npy('|u1', [2, 2], Buffer.alloc(4), { fortran: true }), /Fortran order/);
    fails(npy('|u1', [2, 2, 2], Buffer.alloc(7)), /7 data bytes for shape \(2, 2, 2\) of \|u1/);
    fails(npy('>i4', [1], Buffer.alloc(4)), /element type >i4/);
  });
});
