import { fmtP, fmtScore } from '../../format.ts';
import type { RankingGrids } from '../../state/datasets.ts';

const SHOWN = 20;

/** The best-ranked experts; a row click selects the cell as a heatmap click would. */
export function RankingTable({ ranking, onPick }: { ranking: RankingGrids; onPick(layer: number, expert: number): void }) {
  const top = Array.from(ranking.order.subarray(0, SHOWN), (cell) => ({ cell, layer: ranking.layers[Math.floor(cell / ranking.experts)], expert: cell % ranking.experts }));
  return (
    <div className="table-scroll">
      <table className="table compact" data-testid="ranking-table">
        <thead>
          <tr><th className="num">#</th><th className="num">layer</th><th className="num">expert</th><th className="num">score</th><th className="num">q</th></tr>
        </thead>
        <tbody>
          {top.map((t, i) => (
            <tr key={t.cell} className="clickable" onClick={() => onPick(t.layer, t.expert)} data-testid="ranking-row" data-layer={t.layer} data-expert={t.expert}>
              <td className="num muted">{i + 1}</td>
              <td className="num">{t.layer}</td>
              <td className="num">{t.expert}</td>
              <td className="num">{fmtScore(ranking.score[t.cell])}</td>
              <td className={ranking.q[t.cell] < 0.05 ? 'num' : 'num muted'}>{fmtP(ranking.q[t.cell])}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="hint">{ranking.targetPrompts} target vs {ranking.otherPrompts} other prompts; q: Benjamini–Hochberg over all cells.</p>
    </div>
  );
}
