import { format } from 'd3';
import { useMemo } from 'react';
import { changedTokens } from '../../compare/token-diff.ts';
import { routingShareDiff } from '../../compare/routing-diff.ts';
import { divergingScale } from '../../heatmap/color.ts';
import { ColorLegend } from '../../heatmap/ColorLegend.tsx';
import { ExpertGrid } from '../../heatmap/ExpertGrid.tsx';
import { fmtPct } from '../../format.ts';
import { compareRouting } from '../../state/datasets.ts';
import { maskMarks } from '../../state/mask-ops.ts';
import { GEN_FIELDS } from '../../state/number-input.ts';
import { fieldProblem } from '../../state/slices/fields-slice.ts';
import { useActions, useApp } from '../../state/use-app.ts';
import { GenSettingsForm } from '../GenSettingsForm.tsx';
import { CompareTokenRouting } from '../token-routing/TokenRoutingPanels.tsx';
import { MaskSourceLine } from '../MaskSource.tsx';
import { TokenOutput } from '../TokenOutput.tsx';

const fmtShare = format('+.1%');

export function CompareView() {
  const model = useApp((s) => s.model.info);
  const cmp = useApp((s) => s.compare);
  const mask = useApp((s) => s.steering.mask);
  const hasPrompt = useApp((s) => !!s.steering.gen.prompt.trim());
  const invalid = useApp((s) => fieldProblem(s, GEN_FIELDS));
  const { runCompare, cancelCompare } = useActions();
  const running = cmp.baseline.status === 'running' || cmp.steered.status === 'running';
  const diff = useMemo(() => changedTokens(cmp.baseline.ids, cmp.steered.ids), [cmp.baseline.ids, cmp.steered.ids]);
  const routing = useMemo(() => routingShareDiff(compareRouting.baseline, compareRouting.steered), [cmp.routingVersion]);
  const scale = useMemo(() => divergingScale(routing, 'routing share, steered − baseline', fmtShare), [routing]);
  const usedMask = cmp.mask ?? mask;
  const currentSource = useApp((s) => s.steering.maskSource);
  const usedSource = cmp.mask ? cmp.maskSource : currentSource;
  const layers = model?.moeLayers ?? [];
  const experts = model?.experts ?? 0;
  const marks = useMemo(() => maskMarks(usedMask, layers, experts), [usedMask, layers, experts]);
  const off = usedMask.entries.filter((e) => e.state === 'off').length;
  const same = cmp.steered.ids.length - diff.b.size;
  return (
    <div className="view view-compare">
      <section className="panel">
        <div className="panel-head">
          <h2>Baseline vs steered</h2>
          <div className="row">
            <button type="button" disabled={!hasPrompt || !model || !!invalid} title={invalid ? `Fix first: ${invalid}` : undefined} onClick={() => void runCompare()} data-testid="compare-run">Run both</button>
            <button type="button" className="secondary" disabled={!running} onClick={cancelCompare} data-testid="compare-cancel">Cancel</button>
          </div>
        </div>
        <GenSettingsForm testPrefix="compare" onSubmit={() => void runCompare()} />
        <p className="hint">
          Same prompt and seed; baseline runs with an empty mask, steered with the current one ({off} off, {usedMask.entries.length - off} forced, {usedMask.mode}/{usedMask.forceWeight}).
        </p>
        <MaskSourceLine source={usedSource} entries={usedMask.entries.length} testId="compare-mask-source" />
      </section>
      <div className="columns equal">
        <section className="panel pane" data-testid="compare-baseline-pane">
          <h2>Baseline <span className="muted small">no mask</span></h2>
          <TokenOutput testId="compare-baseline" {...cmp.baseline} changed={diff.a} />
        </section>
        <section className="panel pane" data-testid="compare-steered-pane">
          <h2>Steered <span className="muted small">current mask</span></h2>
          <TokenOutput testId="compare-steered" {...cmp.steered} changed={diff.b} />
        </section>
      </div>
      {cmp.steered.ids.length > 0 && (
        <p className="hint" data-testid="compare-diff-summary">
          {diff.a.size + diff.b.size === 0 ? 'Identical token sequences.' : `${diff.b.size} of ${cmp.steered.ids.length} steered tokens differ from baseline (${diff.a.size} baseline tokens not in steered); ${same} in common.`}
        </p>
      )}
      <CompareTokenRouting />
      <section className="panel heatmap-panel">
        <div className="panel-head">
          <h2>Routing difference</h2>
          <ColorLegend scale={scale} testId="routing-diff-legend" />
        </div>
        <p className="hint">Per layer × expert: share of generated tokens routed there when steered minus baseline. Masked experts are marked.</p>
        {experts > 0 && (
          <ExpertGrid
            testId="routing-diff"
            layers={layers}
            experts={experts}
            values={routing}
            scale={scale}
            marks={marks}
            maxPlotHeight={360}
            tooltip={({ row, col }) => <RoutingTooltip row={row} col={col} layer={layers[row]} />}
          />
        )}
      </section>
    </div>
  );
}

function RoutingTooltip({ row, col, layer }: { row: number; col: number; layer: number }) {
  const share = (c: typeof compareRouting.baseline) => (c && c.tokens ? c.counts[row * c.experts + col] / c.tokens : NaN);
  const b = share(compareRouting.baseline);
  const s = share(compareRouting.steered);
  return (
    <>
      <div className="tt-title">layer {layer} · expert {col}</div>
      <table>
        <tbody>
          <tr><th>baseline</th><td>{fmtPct(b)}</td></tr>
          <tr><th>steered</th><td>{fmtPct(s)}</td></tr>
          <tr><th>difference</th><td>{Number.isNaN(s - b) ? '–' : fmtShare(s - b)}</td></tr>
        </tbody>
      </table>
    </>
  );
}
