import { useHost } from '../../host/use-host.ts';
import { heatmapPng, heatmapSvg, type FigureSpec } from '../../heatmap/export-figure.ts';
import { heatmaps, rankings } from '../../state/datasets.ts';
import type { AppState } from '../../state/store.ts';
import { useApp, useAppStore } from '../../state/use-app.ts';
import { imagingGridValues } from '../imaging/grid-values.ts';
import { OutcomeLine, RunPrecision, useExport } from './export-outcome.tsx';

/** The heatmap as Imaging shows it now. */
function figureOf(s: AppState): { spec: FigureSpec; base: string } | null {
  const im = s.imaging;
  const h = heatmaps.get(im.heatmapKey);
  const r = rankings.get(im.rankingKey);
  if (im.runId === null || !h) return null;
  const precision = s.probes.runs.find((run) => run.id === im.runId)?.precision;
  const { values, scale, dimmed } = imagingGridValues(im, h, r);
  const what = im.show === 'score' ? `${im.method}-${im.target}` : `${im.show}-${im.rateClass}`;
  return {
    spec: { title: `run ${im.runId}${precision ? ` (${precision})` : ''} · ${im.span} tokens · ${scale.label}${dimmed ? ` · faded: q ≥ ${im.alpha}` : ''}`, layers: h.layers, experts: h.experts, values, scale, dimmed },
    base: `heatmap-run${im.runId}${precision ? `-${precision}` : ''}-${im.span}-${what}`,
  };
}

export function HeatmapExport() {
  const host = useHost();
  const store = useAppStore();
  const im = useApp((s) => s.imaging);
  const shownRun = useApp((s) => s.probes.runs.find((r) => r.id === s.imaging.runId));
  const modelPrecision = useApp((s) => s.model.info?.precision);
  const ready = im.runId !== null && im.heatmapKey !== null;
  const [outcome, run] = useExport();
  const exportCsv = () =>
    run('Rankings CSV', async () => {
      const { runId, span, target, method } = store.getState().imaging;
      const { csv, fileName } = await host.engine.call('rankings.csv', { runId: runId!, span, target: target!, method }).result;
      return host.saveText(fileName, csv, 'text/csv');
    });
  const exportFigure = (kind: 'png' | 'svg') =>
    run(`Heatmap ${kind.toUpperCase()}`, async () => {
      const fig = figureOf(store.getState())!;
      return kind === 'png'
        ? host.saveBlob(`${fig.base}.png`, await heatmapPng(fig.spec))
        : host.saveText(`${fig.base}.svg`, heatmapSvg(fig.spec), 'image/svg+xml');
    });
  return (
    <section className="panel">
      <h2>Rankings and heatmap</h2>
      <p className="hint" data-testid="export-heatmap-run">
        {ready
          ? <>From Imaging: run {im.runId}{shownRun && <> recorded at <RunPrecision precision={shownRun.precision} model={modelPrecision} /></>}, {im.span} tokens, {im.method === 'mote' ? 'MoTE' : 'RD'} ranking for target {im.target}.</>
          : 'Open a run in Imaging first.'}
      </p>
      <div className="row controls wrap">
        <button type="button" disabled={!ready || !im.target} onClick={() => void exportCsv()} data-testid="export-rankings">Rankings CSV</button>
        <button type="button" disabled={!ready} onClick={() => void exportFigure('png')} data-testid="export-heatmap-png">Heatmap PNG</button>
        <button type="button" disabled={!ready} onClick={() => void exportFigure('svg')} data-testid="export-heatmap-svg">Heatmap SVG</button>
      </div>
      <OutcomeLine outcome={outcome} testId="export-heatmap-result" />
    </section>
  );
}
