import { isTied, tieAtCut, TIE_ORDER } from '../../../engine/common/ranking-ties.ts';
import { formatP, formatScore } from '../../../engine/common/statistics-format.ts';
import type { RankingGrids } from '../../state/datasets.ts';

const SHOWN = 20;

/** The best-ranked experts; a row click selects the cell as a heatmap click would. Tied ranks read "3=". */
export function RankingTable({ ranking, alpha, onPick }: { ranking: RankingGrids; alpha: number; onPick(layer: number, expert: number): void }) {
  const top = Array.from(ranking.order.subarray(0, SHOWN), (cell, i) => ({
    cell, layer: ranking.layers[Math.floor(cell / ranking.experts)], expert: cell % ranking.experts, rank: ranking.rank[i], tied: isTied(ranking.rank, i),
  }));
  const tie = tieAtCut(ranking.rank, SHOWN);
  return (
    <div className="table-scroll">
      <table className="table compact" data-testid="ranking-table">
        <thead>
          <tr><th className="num">#</th><th className="num">layer</th><th className="num">expert</th><th className="num">score</th><th className="num">q</th></tr>
        </thead>
        <tbody>
          {top.map((t) => (
            <tr key={t.cell} className="clickable" onClick={() => onPick(t.layer, t.expert)} data-testid="ranking-row" data-layer={t.layer} data-expert={t.expert} data-rank={t.rank} data-tied={t.tied || undefined}>
              <td className="num muted" title={t.tied ? `tied score: tied experts are listed by ${TIE_ORDER}` : undefined}>{t.tied ? `${t.rank}=` : t.rank}</td>
              <td className="num">{t.layer}</td>
              <td className="num">{t.expert}</td>
              <td className="num">{formatScore(ranking.score[t.cell])}</td>
              <td className={ranking.q[t.cell] < alpha ? 'num' : 'num muted'} data-testid="ranking-q">{formatP(ranking.q[t.cell])}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="hint">
        {ranking.targetPrompts} target vs {ranking.otherPrompts} other prompts; q: Benjamini–Hochberg over all cells.
        {top.some((t) => t.tied) && <> “=”: tied score, listed by {TIE_ORDER}.</>}
        {tie && <> {tie.size} experts tie at rank {tie.rank}; {tie.left} more below this list.</>}
      </p>
    </div>
  );
}
