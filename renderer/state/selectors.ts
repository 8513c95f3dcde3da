import type { ExpertMask } from '../../engine/protocol/types.ts';
import { rankingKey, rankings } from './datasets.ts';
import type { MaskSource } from './session.ts';
import { suggestedTopN } from './top-n.ts';
import type { AppState } from './store.ts';

/** The n best experts of the ranking shown in Imaging, best first. */
export function topRanked(s: AppState, n: number): { layer: number; expert: number }[] {
  const r = rankings.get(s.imaging.rankingKey);
  if (!r) return [];
  return Array.from(r.order.subarray(0, Math.max(0, n)), (cell) => ({ layer: r.layers[Math.floor(cell / r.experts)], expert: cell % r.experts }));
}

export const baselineMask = (mask: ExpertMask): ExpertMask => ({ ...mask, entries: [] });

export type RankingSelection = Omit<MaskSource, 'n' | 'edited'>;

/**
 * The ranking chosen in Imaging (run, target, method, span) and whether it is the one shown (loaded): while another
 * one loads, or after its load failed, the shown ranking is an older selection's and must not be used.
 */
export function selectedRanking(s: AppState): { selection: RankingSelection; shown: boolean } | null {
  const { runId, target, method, span } = s.imaging;
  if (runId === null || target === null) return null;
  const run = s.probes.runs.find((r) => r.id === runId);
  const key = rankingKey(runId, span, target, method);
  return { selection: { runId, runLabel: run?.setId ?? '?', target, method, span }, shown: s.imaging.rankingKey === key && !!rankings.get(key) };
}

/** "run 3 (demo-refusal) · target refused · MoTE · prompt span". */
export const describeRanking = (r: RankingSelection): string =>
  `run ${r.runId} (${r.runLabel}) · target ${r.target} · ${r.method === 'mote' ? 'MoTE' : 'RD'} · ${r.span} span`;

export const sameRanking = (a: RankingSelection, b: RankingSelection): boolean =>
  a.runId === b.runId && a.target === b.target && a.method === b.method && a.span === b.span;
/** The N "top N" uses: the user's, once typed, else the suggestion from the ranking shown in Imaging. */
export function topNOf(s: AppState): { n: number; basis: string | null } {
  if (!s.steering.topNAuto) return { n: s.steering.topN, basis: null };
  return suggestedTopN(rankings.get(s.imaging.rankingKey));
}
