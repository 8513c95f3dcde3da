import { useRef, useState } from 'react';
import { isTied, tieAtCut, TIE_ORDER } from '../../../engine/common/ranking-ties.ts';
import { formatP, formatScore } from '../../../engine/common/statistics-format.ts';
import type { RankingGrids } from '../../state/datasets.ts';
import { useActions } from '../../state/use-app.ts';
import { RankingRowActions } from './RankingRowActions.tsx';

const SHOWN = 20;

/** The best-ranked experts; a row click selects the cell as a heatmap click would. Tied ranks read "3=". */
export function RankingTable({ ranking, alpha, onPick }: { ranking: RankingGrids; alpha: number; onPick(layer: number, expert: number): void }) {
  const top = Array.from(ranking.order.subarray(0, SHOWN), (cell, i) => ({
    cell, layer: ranking.layers[Math.floor(cell / ranking.experts)], expert: cell % ranking.experts, rank: ranking.rank[i], tied: isTied(ranking.rank, i),
  }));
  const tie = tieAtCut(ranking.rank, SHOWN);
  const { setExpertState } = useActions();
  // Roving focus: one row is in the tab order; arrow keys move between rows.
  const [active, setActive] = useState(0);
  const body = useRef<HTMLTableSectionElement>(null);
  const focusRow = (i: number) => {
    const next = Math.max(0, Math.min(top.length - 1, i));
    setActive(next);
    (body.current?.children[next] as HTMLElement | undefined)?.focus();
  };
  const onKey = (e: React.KeyboardEvent, i: number, t: (typeof top)[number]) => {
    const keys: Record<string, () => void> = {
      ArrowDown: () => focusRow(i + 1), ArrowUp: () => focusRow(i - 1), Home: () => focusRow(0), End: () => focusRow(top.length - 1),
      Enter: () => onPick(t.layer, t.expert), ' ': () => onPick(t.layer, t.expert),
      o: () => setExpertState(t.layer, t.expert, 'off', true), f: () => setExpertState(t.layer, t.expert, 'forced', true),
    };
    const act = keys[e.key.length === 1 ? e.key.toLowerCase() : e.key];
    if (!act) return;
    e.preventDefault();
    act();
  };
  return (
    <div className="table-scroll">
      <table className="table compact" data-testid="ranking-table">
        <thead>
          <tr><th className="num">#</th><th className="num">layer</th><th className="num">expert</th><th className="num">score</th><th className="num">q</th><th title="the expert in the Steering mask: switch off or force, in one click (O / F on a focused row)">mask</th></tr>
        </thead>
        <tbody ref={body}>
          {top.map((t, i) => (
            <tr key={t.cell} className="clickable" onClick={() => onPick(t.layer, t.expert)} data-testid="ranking-row" data-layer={t.layer} data-expert={t.expert} data-rank={t.rank} data-tied={t.tied || undefined}
              tabIndex={i === Math.min(active, top.length - 1) ? 0 : -1} onFocus={() => setActive(i)} onKeyDown={(e) => onKey(e, i, t)}
              aria-label={`rank ${t.rank}${t.tied ? ' (tied)' : ''}: layer ${t.layer}, expert ${t.expert}, score ${formatScore(ranking.score[t.cell])}, q ${formatP(ranking.q[t.cell])}`}
              aria-keyshortcuts="Enter O F">
              <td className="num muted" title={t.tied ? `tied score: tied experts are listed by ${TIE_ORDER}` : undefined}>{t.tied ? `${t.rank}=` : t.rank}</td>
              <td className="num">{t.layer}</td>
              <td className="num">{t.expert}</td>
              <td className="num">{formatScore(ranking.score[t.cell])}</td>
              <td className={ranking.q[t.cell] < alpha ? 'num' : 'num muted'} data-testid="ranking-q">{formatP(ranking.q[t.cell])}</td>
              <RankingRowActions layer={t.layer} expert={t.expert} />
            </tr>
          ))}
        </tbody>
      </table>
      <p className="hint">
        {ranking.targetPrompts} target vs {ranking.otherPrompts} other prompts; q: Benjamini–Hochberg over all cells.
        {top.some((t) => t.tied) && <> “=”: tied score, listed by {TIE_ORDER}.</>}
        {tie && <> {tie.size} experts tie at rank {tie.rank}; {tie.left} more below this list.</>}
        {' '}Keys on a row: ↑↓ move, Enter shows the expert, O switches it off, F forces it.
      </p>
    </div>
  );
}
