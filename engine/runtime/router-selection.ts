import type { ModelSpec } from '../model/spec.ts';

/**
 * The unsteered plain softmax router (families whose router is not routesInGraph): softmax over the router logits →
 * the k largest, best first (the lower index wins a tie, as TopK does) → renormalised over the k iff
 * norm_topk_prob → × the router's scaling. Unsteered, the instrumented graph feeds the router logits to the MoE op, which applies
 * this rule itself; this restates it to record what the op selected. routerLogits is [rows, E]; returns selected
 * and weights [rows, k].
 */
export function selectExperts(spec: Pick<ModelSpec, 'numExperts' | 'topK' | 'normTopkProb' | 'router'>, routerLogits: Float32Array):
  { selected: Int32Array; weights: Float32Array } {
  const E = spec.numExperts;
  const k = spec.topK;
  const rows = routerLogits.length / E;
  const selected = new Int32Array(rows * k);
  const weights = new Float32Array(rows * k);
  const top = new Int32Array(k);
  for (let r = 0; r < rows; r++) {
    const z = routerLogits.subarray(r * E, (r + 1) * E);
    // Insertion into a best-first list of k: E is small (≤ a few hundred) and k ≤ 16.
    let filled = 0;
    for (let e = 0; e < E; e++) {
      if (filled === k && z[e] <= z[top[k - 1]]) continue;
      let at = Math.min(filled, k - 1);
      while (at > 0 && z[e] > z[top[at - 1]]) {
        top[at] = top[at - 1];
        at--;
      }
      top[at] = e;
      filled = Math.min(filled + 1, k);
    }
    const max = z[top[0]];
    let denominator = 0;
    if (spec.normTopkProb) for (let j = 0; j < k; j++) denominator += Math.exp(z[top[j]] - max);
    else for (let e = 0; e < E; e++) denominator += Math.exp(z[e] - max);
    for (let j = 0; j < k; j++) {
      selected[r * k + j] = top[j];
      weights[r * k + j] = (Math.exp(z[top[j]] - max) / denominator) * spec.router.scaling;
    }
  }
  return { selected, weights };
}
