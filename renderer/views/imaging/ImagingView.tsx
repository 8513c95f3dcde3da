import { useMemo } from 'react';
import { ErrorText } from '../../components/ErrorText.tsx';
import { ColorLegend } from '../../heatmap/ColorLegend.tsx';
import { ExpertGrid } from '../../heatmap/ExpertGrid.tsx';
import { heatmaps, rankings } from '../../state/datasets.ts';
import { useActions, useApp } from '../../state/use-app.ts';
import { CellTooltip } from './CellTooltip.tsx';
import { ExpertPrompts } from './ExpertPrompts.tsx';
import { imagingGridValues } from './grid-values.ts';
import { ImagingControls } from './ImagingControls.tsx';
import { RankingTable } from './RankingTable.tsx';
import { TokenStrip } from './TokenStrip.tsx';

export function ImagingView() {
  const im = useApp((s) => s.imaging);
  const model = useApp((s) => s.model.info);
  const { selectCell } = useActions();
  const heatmap = heatmaps.get(im.heatmapKey);
  const ranking = rankings.get(im.rankingKey);
  // Narrow dependencies: a cell click or loading flag must not rebuild the scale (which repaints the grid).
  const { show, rateClass, scale: range, sharedRange, alpha, dim } = im;
  const { values, scale, dimmed } = useMemo(() => imagingGridValues({ show, rateClass, scale: range, sharedRange, alpha, dim }, heatmap, ranking),
    [show, rateClass, range, sharedRange, alpha, dim, heatmap, ranking]);
  const layers = heatmap?.layers ?? model?.moeLayers ?? [];
  const experts = heatmap?.experts ?? model?.experts ?? 0;
  const selected = im.cell && layers.includes(im.cell.layer) ? { row: layers.indexOf(im.cell.layer), col: im.cell.expert } : null;
  return (
    <div className="view view-imaging">
      <section className="panel">
        <ImagingControls />
        <ErrorText error={im.error} testId="imaging-error" />
        {im.runId === null && !im.runMissing && <p className="hint">No recorded run for this model yet: run a probe set first (Probes).</p>}
      </section>
      <div className="columns">
        <section className="panel grow heatmap-panel">
          <div className="panel-head">
            <h2>Layer × expert {im.loading && <span className="muted small">loading…</span>}</h2>
            <div className="legend-stack">
              <ColorLegend scale={scale} testId="heatmap-legend" />
              {dimmed && <p className="legend-note" data-testid="heatmap-dim-note"><span className="dim-swatch" /> faded: q ≥ {im.alpha} (Benjamini–Hochberg), not significant</p>}
            </div>
          </div>
          {experts > 0 && (
            <ExpertGrid
              testId="heatmap"
              layers={layers}
              experts={experts}
              values={values}
              scale={scale}
              dimmed={dimmed}
              selected={selected}
              tooltip={({ row, col }) => <CellTooltip row={row} col={col} layers={layers} experts={experts} heatmap={heatmap} ranking={ranking} alpha={im.alpha} />}
              onCellClick={({ row, col }) => void selectCell(layers[row], col)}
            />
          )}
        </section>
        <section className="panel side">
          <h2>Top ranked</h2>
          {ranking ? <RankingTable ranking={ranking} alpha={im.alpha} onPick={(layer, expert) => void selectCell(layer, expert)} /> : <p className="hint">No ranking yet.</p>}
        </section>
      </div>
      <section className="panel">
        <ExpertPrompts />
        <TokenStrip />
      </section>
    </div>
  );
}
