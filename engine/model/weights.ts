/** A read-only view of a checkpoint's tensors, every dtype widened to float32. */
export interface WeightSource {
  names(): string[];
  has(name: string): boolean;
  /** Shape as stored in the checkpoint (row-major, PyTorch order). */
  shape(name: string): number[];
  /** The tensor's values as float32, row-major. Throws an error naming the file and tensor on failure. */
  read(name: string): Float32Array;
  /** A U8 tensor's bytes as stored (packed MXFP4 blocks and scales). */
  readBytes(name: string): Uint8Array;
}
