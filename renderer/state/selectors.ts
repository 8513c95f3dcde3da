import type { ExpertMask } from '../../engine/protocol/types.ts';
import { rankings } from './datasets.ts';
import { suggestedTopN } from './top-n.ts';
import type { AppState } from './store.ts';

/** The n best experts of the ranking shown in Imaging, best first. */
export function topRanked(s: AppState, n: number): { layer: number; expert: number }[] {
  const r = rankings.get(s.imaging.rankingKey);
  if (!r) return [];
  return Array.from(r.order.subarray(0, Math.max(0, n)), (cell) => ({ layer: r.layers[Math.floor(cell / r.experts)], expert: cell % r.experts }));
}

export const baselineMask = (mask: ExpertMask): ExpertMask => ({ ...mask, entries: [] });

/** The N "top N" uses: the user's, once typed, else the suggestion from the ranking shown in Imaging. */
export function topNOf(s: AppState): { n: number; basis: string | null } {
  if (!s.steering.topNAuto) return { n: s.steering.topN, basis: null };
  return suggestedTopN(rankings.get(s.imaging.rankingKey));
}
