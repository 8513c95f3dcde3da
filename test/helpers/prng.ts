/** Seeded mulberry32 generator: reproducible random checkpoints, not statistics-grade randomness. */
export class Prng {
  private state: number;
  /** Box–Muller yields normals in pairs; the second waits here (NaN when none is pending). */
  private pendingNormal = Number.NaN;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal. */
  normal(): number {
    if (!Number.isNaN(this.pendingNormal)) {
      const value = this.pendingNormal;
      this.pendingNormal = Number.NaN;
      return value;
    }
    const radius = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const angle = 2 * Math.PI * this.uniform();
    this.pendingNormal = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }
}
