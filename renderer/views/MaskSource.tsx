import { useShallow } from 'zustand/react/shallow';
import type { MaskSource } from '../state/session.ts';
import { describeRanking, sameRanking, selectedRanking, type RankingSelection } from '../state/selectors.ts';
import type { AppState } from '../state/store.ts';
import { useApp } from '../state/use-app.ts';

/** Imaging's ranking selection as a flat object, compared key by key so that it re-renders only on a change. */
const useSelectedRanking = (): (RankingSelection & { shown: boolean }) | null =>
  useApp(useShallow((s: AppState) => {
    const r = selectedRanking(s);
    return r && { ...r.selection, shown: r.shown };
  }));

/**
 * Where a mask came from, wherever the mask is used: "top 8 of run 3 (demo-refusal) · target refused · MoTE · prompt
 * span", marked when edited by hand since, and flagged when Imaging now selects another ranking.
 */
export function MaskSourceLine({ source, entries, testId, what = 'Mask' }: { source: MaskSource | null; entries: number; testId: string; what?: string }) {
  const chosen = useSelectedRanking();
  if (entries === 0) return null;
  if (!source) return <div className="hint mask-source" data-testid={testId} data-source="none">{what} made by hand, loaded or imported (not from a ranking).</div>;
  const other = chosen && !sameRanking(chosen, source);
  return (
    <div className="hint mask-source" data-testid={testId} data-source={`${source.runId}|${source.target}|${source.method}|${source.span}`}>
      {what}: top {source.n} of {describeRanking(source)}{source.edited && ', then edited by hand'}.
      {other && <>{' '}<span className="badge warn" data-testid={`${testId}-other`}>Imaging now selects {describeRanking(chosen)}</span></>}
    </div>
  );
}

/** The ranking "Switch off top N" would use: Imaging's selection, and whether it is loaded. */
export function TopNRanking() {
  const chosen = useSelectedRanking();
  const missing = useApp((s) => s.imaging.runMissing);
  const loading = useApp((s) => s.imaging.loading);
  if (!chosen) {
    return missing
      ? <div className="message error-message" data-testid="steer-ranking-source" data-state="missing">Run {missing.id}{missing.label ? ` (${missing.label})` : ''} of your session no longer exists: pick a run in Imaging before building a mask from a ranking.</div>
      : null;
  }
  return (
    <div className="hint" data-testid="steer-ranking-source" data-state={chosen.shown ? 'shown' : loading ? 'loading' : 'not-loaded'}>
      Top N from {describeRanking(chosen)}
      {!chosen.shown && <>{' '}<span className="badge warn">{loading ? 'loading…' : 'not loaded'}: cannot use it yet</span></>}
    </div>
  );
}
