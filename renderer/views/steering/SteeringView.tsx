import { useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { divergingScale } from '../../heatmap/color.ts';
import { ColorLegend } from '../../heatmap/ColorLegend.tsx';
import { ExpertGrid } from '../../heatmap/ExpertGrid.tsx';
import { heatmaps, rankings } from '../../state/datasets.ts';
import { maskMarks, stateOf } from '../../state/mask-ops.ts';
import { selectedRanking } from '../../state/selectors.ts';
import { useActions, useApp } from '../../state/use-app.ts';
import { CellTooltip } from '../imaging/CellTooltip.tsx';
import { dimCells } from '../imaging/grid-values.ts';
import { MaskSourceLine, TopNRanking } from '../MaskSource.tsx';
import { LivePanel } from './LivePanel.tsx';
import { MaskControls } from './MaskControls.tsx';
import { MaskEntries } from './MaskEntries.tsx';
import { MaskLibrary } from './MaskLibrary.tsx';

export function SteeringView() {
  const model = useApp((s) => s.model.info);
  const mask = useApp((s) => s.steering.mask);
  const notice = useApp((s) => s.steering.notice);
  const maskSource = useApp((s) => s.steering.maskSource);
  const rankingShown = useApp((s) => !!selectedRanking(s)?.shown);
  const { rankingKey, heatmapKey, dim, alpha } = useApp(useShallow((s) => ({ rankingKey: s.imaging.rankingKey, heatmapKey: s.imaging.heatmapKey, dim: s.imaging.dim, alpha: s.imaging.alpha })));
  const { cycleExpert, setExpertState } = useActions();
  const ranking = rankings.get(rankingKey);
  const heatmap = heatmaps.get(heatmapKey);
  const layers = model?.moeLayers ?? [];
  const experts = model?.experts ?? 0;
  const fits = ranking && ranking.experts === experts && ranking.layers.join() === layers.join();
  const values = fits ? ranking.score : null;
  const scale = useMemo(() => divergingScale(values, ranking ? `ranking score (target ${ranking.target}), from Imaging` : 'no ranking: record a probe run first'), [values, ranking]);
  const dimmed = useMemo(() => (fits && dim ? dimCells(ranking.q, alpha) : null), [fits, dim, ranking, alpha]);
  const marks = useMemo(() => maskMarks(mask, layers, experts), [mask, layers, experts]);
  if (!model) return <div className="view"><p className="hint">No model loaded.</p></div>;
  return (
    <div className="view view-steering">
      <div className="columns">
        <section className="panel grow heatmap-panel">
          <div className="panel-head">
            <h2>Expert mask</h2>
            <div className="row">
              <span className="mark-key"><span className="mark-swatch off" /> off</span>
              <span className="mark-key"><span className="mark-swatch forced" /> forced</span>
              {dimmed && <span className="mark-key" data-testid="steer-dim-note"><span className="dim-swatch" /> faded: q ≥ {alpha}</span>}
              <ColorLegend scale={scale} />
            </div>
          </div>
          <MaskControls hasRanking={!!fits && rankingShown} />
          <TopNRanking />
          <MaskSourceLine source={maskSource} entries={mask.entries.length} testId="steer-mask-source" />
          <div className="notice-line">{notice && <div className="message" data-testid="steer-notice">{notice}</div>}</div>
          <ExpertGrid
            testId="steer-heatmap"
            layers={layers}
            experts={experts}
            values={values}
            scale={scale}
            dimmed={dimmed}
            marks={marks}
            tooltip={({ row, col }) => (
              <CellTooltip row={row} col={col} layers={layers} experts={experts} heatmap={fits ? heatmap : undefined} ranking={fits ? ranking : undefined} alpha={alpha} extra={`state: ${stateOf(mask, layers[row], col)} — click: normal → off → forced; right-click or F: force`} />
            )}
            onCellClick={({ row, col }) => cycleExpert(layers[row], col)}
            onCellSecondary={({ row, col }) => setExpertState(layers[row], col, 'forced', true)}
            label="expert mask over ranking scores"
          />
        </section>
        <section className="panel side">
          <h2>Mask entries</h2>
          <MaskEntries />
          <h2>Saved masks</h2>
          <MaskLibrary />
        </section>
      </div>
      <LivePanel />
    </div>
  );
}
