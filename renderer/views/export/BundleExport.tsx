import { useHost } from '../../host/use-host.ts';
import { useApp, useAppStore } from '../../state/use-app.ts';
import { OutcomeLine, RunPrecision, useExport } from './export-outcome.tsx';

/** Model identity, probe set, mask, seed and the outputs on screen (Compare panes, live output), as one JSON file. */
export function BundleExport() {
  const host = useHost();
  const store = useAppStore();
  const runId = useApp((s) => s.imaging.runId);
  const shownRun = useApp((s) => s.probes.runs.find((r) => r.id === s.imaging.runId));
  const modelPrecision = useApp((s) => s.model.info?.precision);
  const evaluationId = useApp((s) => s.evaluation.result?.evaluationId ?? null);
  const [outcome, run] = useExport();
  const exportBundle = () =>
    run('Run bundle', async () => {
      const s = store.getState();
      const outputs = [
        { label: 'compare: baseline', text: s.compare.baseline.tokens.join('') },
        { label: 'compare: steered', text: s.compare.steered.tokens.join('') },
        { label: 'live', text: s.steering.live.tokens.join('') },
      ].filter((o) => o.text);
      const seed = s.compare.settings?.seed ?? s.steering.gen.seed;
      const { json, fileName } = await host.engine.call('bundle.export', { mask: s.compare.mask ?? s.steering.mask, seed, outputs, ...(runId !== null ? { runId } : {}), ...(evaluationId !== null ? { evaluationIds: [evaluationId] } : {}) }).result;
      return host.saveText(fileName, json, 'application/json');
    });
  return (
    <section className="panel">
      <h2>Run bundle</h2>
      <p className="hint" data-testid="export-bundle-run">
        {runId !== null && <>Run {runId}{shownRun && <> (recorded at <RunPrecision precision={shownRun.precision} model={modelPrecision} />)</>}, </>}
        the current mask{modelPrecision ? ` (model at ${modelPrecision})` : ''}, the seed and the generated outputs
        {evaluationId !== null && <>, and evaluation #{evaluationId} (the one shown in Evaluate, with its per-prompt outcomes)</>}, for a reproducible record.
      </p>
      <button type="button" onClick={() => void exportBundle()} data-testid="export-bundle">Export run bundle</button>
      <OutcomeLine outcome={outcome} testId="export-bundle-result" />
    </section>
  );
}
