import type { ModelInfo } from '../../engine/protocol/types.ts';
import { ErrorText } from '../components/ErrorText.tsx';
import { ProgressBar } from '../components/ProgressBar.tsx';
import { fmtBytes, fmtCount, fmtLayers } from '../format.ts';
import { useHost } from '../host/use-host.ts';
import { useActions, useApp } from '../state/use-app.ts';

export function ModelView() {
  const { info, opening, error, path } = useApp((s) => s.model);
  const { openModel, setModelPath } = useActions();
  const host = useHost();
  const pickFolder = async () => {
    const dir = await host.openFolder?.();
    if (dir) await openModel(dir);
  };
  return (
    <div className="view view-model">
      <section className="panel">
        <h2>Open a checkpoint</h2>
        <p className="hint">A Hugging Face checkpoint folder: config.json, *.safetensors, tokenizer.json and its chat template. The first open builds the ONNX graph.</p>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (path.trim()) void openModel(path.trim());
          }}
        >
          {host.openFolder ? (
            <button type="button" data-testid="model-open-folder" disabled={!!opening} onClick={() => void pickFolder()}>Open folder…</button>
          ) : (
            <>
              <input className="grow" type="text" placeholder="/path/to/checkpoint" value={path} onChange={(e) => setModelPath(e.target.value)} data-testid="model-path" aria-label="checkpoint folder" />
              <button type="submit" disabled={!!opening || !path.trim()} data-testid="model-open">Open</button>
            </>
          )}
          <button type="button" className="secondary" disabled={!!opening} onClick={() => void openModel()} data-testid="model-open-demo">Load demo model</button>
        </form>
        {opening && (
          <ProgressBar testId="model-progress" label={opening.total > 0 && opening.done < opening.total ? 'Building graph' : 'Loading the model'}
            done={opening.done} total={opening.total} />
        )}
        <ErrorText error={error} testId="model-error" />
      </section>
      {info && <ModelCard info={info} />}
    </div>
  );
}

function ModelCard({ info }: { info: ModelInfo }) {
  const rows: [string, string][] = [
    ['Folder', info.folder],
    ['Architecture', `${info.architecture} (${info.family})`],
    ['Layers', `${info.layers} decoder layers, ${info.moeLayers.length} with MoE (${fmtLayers(info.moeLayers)})`],
    ['Experts', `${info.experts} routed per MoE layer, top-k = ${info.topK}`],
    ['Shared experts', info.sharedExperts ? `${info.sharedExperts} (always on, not maskable)` : 'none'],
    ['Router rule', `${info.routerRule}${info.normTopkProb ? ' · top-k weights renormalised' : ''}`],
    ['Parameters', `${fmtCount(info.parameters)} total, ${fmtCount(info.activeParameters)} active per token`],
    ['Hidden size · vocabulary · context', `${info.hiddenSize} · ${info.vocabSize.toLocaleString('en')} · ${info.contextLength.toLocaleString('en')}`],
    ['Chat template', info.hasChatTemplate ? 'yes' : 'no (prompts are sent as plain text)'],
    ['Checkpoint hash', info.checkpoint],
  ];
  return (
    <section className="panel model-card" data-testid="model-card">
      <h2>
        {info.architecture}
        {info.demo && <span className="badge">demo model</span>}
      </h2>
      <div className="stat-row">
        <Stat label="MoE layers" value={String(info.moeLayers.length)} />
        <Stat label="experts" value={String(info.experts)} />
        <Stat label="top-k" value={String(info.topK)} />
        <Stat label="shared" value={String(info.sharedExperts)} />
        <Stat label="memory" value={fmtBytes(info.memoryBytes)} />
      </div>
      <dl className="kv">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <div className="stat">
      <div className="stat-value">{value}</div>
      <div className="stat-label">{label}</div>
    </div>
  );
}
