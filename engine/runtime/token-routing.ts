import type { StepRouting } from './model-runner.ts';

/** One token's routing in one MoE layer: experts best first, with their mixing weights (dropped slots left out). */
export interface TokenRouting {
  /** Decoder-layer index. */
  layer: number;
  experts: number[];
  weights: number[];
}

/** Routing of token t of a step, per MoE layer; weights rounded to 6 decimals for display and JSON. */
export function tokenRouting(r: StepRouting, t: number, k: number): TokenRouting[] {
  return r.layers.map((layer, l) => {
    const at = (l * r.tokens + t) * k;
    const experts: number[] = [];
    const weights: number[] = [];
    for (let j = 0; j < k; j++) {
      if (r.selected[at + j] < 0) continue;
      experts.push(r.selected[at + j]);
      weights.push(Number(r.weights[at + j].toFixed(6)));
    }
    return { layer, experts, weights };
  });
}
