import type { StepRouting } from './model-runner.ts';

/**
 * Routing of a whole sequence laid out token-major for storage: selected/weights [tokens, layers, k],
 * routerLogits [tokens, layers, experts], from steps whose routing is layer-major ([layers, step tokens, …]).
 */
export class SequenceRouting {
  tokens = 0;
  private readonly selected: number[] = [];
  private readonly weights: number[] = [];
  private readonly logits: number[] = [];

  constructor(readonly layers: number, readonly k: number, readonly experts: number, readonly keepLogits: boolean) {}

  append(step: StepRouting): void {
    const { layers, k, experts } = this;
    for (let t = 0; t < step.tokens; t++) {
      for (let l = 0; l < layers; l++) {
        const at = (l * step.tokens + t) * k;
        for (let j = 0; j < k; j++) {
          this.selected.push(step.selected[at + j]);
          this.weights.push(step.weights[at + j]);
        }
        if (this.keepLogits) {
          const from = (l * step.tokens + t) * experts;
          for (let e = 0; e < experts; e++) this.logits.push(step.routerLogits[from + e]);
        }
      }
    }
    this.tokens += step.tokens;
  }

  toArrays(): { selected: Int16Array; weights: Float32Array; routerLogits?: Float32Array } {
    return {
      selected: Int16Array.from(this.selected),
      weights: Float32Array.from(this.weights),
      ...(this.keepLogits ? { routerLogits: Float32Array.from(this.logits) } : {}),
    };
  }
}
