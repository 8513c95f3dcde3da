import type { RoutingCounts } from '../state/datasets.ts';

/**
 * Per cell: share of generated tokens routed there in `steered` minus that in `baseline` (a share is count ÷ tokens,
 * so with k experts per token a layer's shares sum to k). Null until both sides have tokens.
 */
export function routingShareDiff(baseline: RoutingCounts | null, steered: RoutingCounts | null): Float32Array | null {
  if (!baseline || !steered || baseline.tokens === 0 || steered.tokens === 0) return null;
  const out = new Float32Array(steered.counts.length);
  for (let i = 0; i < out.length; i++) out[i] = steered.counts[i] / steered.tokens - baseline.counts[i] / baseline.tokens;
  return out;
}
