import { formatP, formatScore } from '../../../engine/common/statistics-format.ts';
import { fmtPct } from '../../format.ts';
import type { HeatmapGrids, RankingGrids } from '../../state/datasets.ts';

/** Tooltip body for one cell: per-class rates and the ranking's score, p and q (judged against alpha when given). */
export function CellTooltip({ row, col, layers, experts, heatmap, ranking, alpha, extra }: {
  row: number;
  col: number;
  layers: number[];
  experts: number;
  heatmap?: HeatmapGrids;
  ranking?: RankingGrids;
  alpha?: number;
  extra?: string;
}) {
  const i = row * experts + col;
  return (
    <>
      <div className="tt-title">layer {layers[row]} · expert {col}</div>
      {extra && <div className="tt-extra">{extra}</div>}
      <table>
        <tbody>
          {heatmap?.classes.map((c) => (
            <tr key={c.class}>
              <th>{c.class}</th>
              <td>{fmtPct(c.rate[i])}</td>
              <td className="muted">mean {fmtPct(c.mean[i])}</td>
            </tr>
          ))}
          {ranking && (
            <>
              <tr>
                <th>{ranking.method === 'mote' ? 'MoTE' : 'RD'} score</th>
                <td>{formatScore(ranking.score[i])}</td>
                <td className="muted">target {ranking.target}</td>
              </tr>
              <tr>
                <th>p · q</th>
                <td>{formatP(ranking.p[i])}</td>
                <td>{formatP(ranking.q[i])}</td>
              </tr>
              {alpha !== undefined && !Number.isNaN(ranking.q[i]) && (
                <tr>
                  <th />
                  <td colSpan={2} className="muted">{ranking.q[i] < alpha ? `significant: q < ${alpha}` : `not significant: q ≥ ${alpha}`}</td>
                </tr>
              )}
            </>
          )}
        </tbody>
      </table>
    </>
  );
}
