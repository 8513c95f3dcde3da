/**
 * Seeded mulberry32 generator for reproducible random checkpoints (not statistics-grade randomness).
 *
 * Normals are drawn from a table of 65,536 Box–Muller samples made from the same stream (on first use), two table
 * entries per 32-bit step: ~7× faster than Box–Muller per value, which is what makes multi-GB benchmark
 * checkpoints quick to write.
 */
export class Prng {
  private state: number;
  private normalTable: Float64Array | undefined;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    this.state = (this.state + MULBERRY_INCREMENT) | 0;
    return mulberryOutput(this.state) / 2 ** 32;
  }

  /** Fills `target` with draws from N(mean, std²). */
  fillNormal(target: Float32Array, mean: number, std: number): void {
    const table = (this.normalTable ??= this.boxMullerTable());
    // The state lives in a local for the loop: this is the hot path of writing a benchmark checkpoint.
    let state = this.state;
    for (let i = 0; i < target.length; i += 2) {
      state = (state + MULBERRY_INCREMENT) | 0;
      const bits = mulberryOutput(state);
      target[i] = mean + std * table[bits & 0xffff];
      if (i + 1 < target.length) target[i + 1] = mean + std * table[bits >>> 16];
    }
    this.state = state;
  }

  private boxMullerTable(): Float64Array {
    const table = new Float64Array(1 << 16);
    for (let i = 0; i < table.length; i += 2) {
      const radius = Math.sqrt(-2 * Math.log(1 - this.uniform()));
      const angle = 2 * Math.PI * this.uniform();
      table[i] = radius * Math.cos(angle);
      table[i + 1] = radius * Math.sin(angle);
    }
    return table;
  }
}

const MULBERRY_INCREMENT = 0x6d2b79f5;

function mulberryOutput(state: number): number {
  let t = Math.imul(state ^ (state >>> 15), state | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}
