import type { ExpertMask } from '../../engine/protocol/types.ts';
import { rankings } from './datasets.ts';
import type { AppState } from './store.ts';

/** The n best experts of the ranking shown in Imaging, best first. */
export function topRanked(s: AppState, n: number): { layer: number; expert: number }[] {
  const r = rankings.get(s.imaging.rankingKey);
  if (!r) return [];
  return Array.from(r.order.subarray(0, Math.max(0, n)), (cell) => ({ layer: r.layers[Math.floor(cell / r.experts)], expert: cell % r.experts }));
}

export const baselineMask = (mask: ExpertMask): ExpertMask => ({ ...mask, entries: [] });

/** Significance level the default N of "top N" counts experts at: Benjamini–Hochberg q below it. */
export const TOP_N_ALPHA = 0.05;
/** Most experts the default N takes, however many are significant. */
export const TOP_N_CAP = 32;
/** N when the ranking has no significant expert (or there is no ranking). */
const TOP_N_FALLBACK = 10;

/** The default N of "top N": experts of the ranking with q < α, at most TOP_N_CAP; and what it is based on. */
export function suggestedTopN(r: { q: Float32Array; target: string } | undefined): { n: number; basis: string } {
  if (!r) return { n: TOP_N_FALLBACK, basis: `no ranking yet: N = ${TOP_N_FALLBACK}` };
  let significant = 0;
  for (const q of r.q) if (q < TOP_N_ALPHA) significant++;
  if (significant === 0) return { n: TOP_N_FALLBACK, basis: `no expert has q < ${TOP_N_ALPHA} for ${r.target}: N = ${TOP_N_FALLBACK} is arbitrary` };
  if (significant > TOP_N_CAP) return { n: TOP_N_CAP, basis: `${significant} experts have q < ${TOP_N_ALPHA} for ${r.target}; N capped at ${TOP_N_CAP}` };
  return { n: significant, basis: `${significant} expert${significant === 1 ? ' has' : 's have'} q < ${TOP_N_ALPHA} for ${r.target}` };
}

/** The N "top N" uses: the user's, once typed, else the suggestion from the ranking shown in Imaging. */
export function topNOf(s: AppState): { n: number; basis: string | null } {
  if (!s.steering.topNAuto) return { n: s.steering.topN, basis: null };
  return suggestedTopN(rankings.get(s.imaging.rankingKey));
}
