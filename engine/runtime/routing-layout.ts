import type { StepRouting } from './model-runner.ts';

/**
 * Routing of a whole sequence laid out token-major for storage: selected/weights [tokens, layers, k],
 * routerLogits [tokens, layers, experts], from steps whose routing is layer-major ([layers, step tokens, …]).
 */
export class SequenceRouting {
  tokens = 0;
  private readonly steps: StepRouting[] = [];

  constructor(readonly layers: number, readonly k: number, readonly experts: number, readonly keepLogits: boolean) {}

  append(step: StepRouting): void {
    this.steps.push(step);
    this.tokens += step.tokens;
  }

  toArrays(): { selected: Int16Array; weights: Float32Array; routerLogits?: Float32Array } {
    const { layers, k, experts } = this;
    const selected = new Int16Array(this.tokens * layers * k);
    const weights = new Float32Array(selected.length);
    const logits = this.keepLogits ? new Float32Array(this.tokens * layers * experts) : undefined;
    let token = 0;
    for (const step of this.steps) {
      for (let t = 0; t < step.tokens; t++, token++) {
        for (let l = 0; l < layers; l++) {
          const from = (l * step.tokens + t) * k;
          const to = (token * layers + l) * k;
          for (let j = 0; j < k; j++) {
            selected[to + j] = step.selected[from + j];
            weights[to + j] = step.weights[from + j];
          }
          logits?.set(step.routerLogits.subarray((l * step.tokens + t) * experts, (l * step.tokens + t + 1) * experts), (token * layers + l) * experts);
        }
      }
    }
    return { selected, weights, ...(logits ? { routerLogits: logits } : {}) };
  }
}
