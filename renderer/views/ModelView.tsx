import { useEffect } from 'react';
import type { MemoryEstimates, ModelInfo, PrecisionChoice } from '../../engine/protocol/types.ts';
import { ErrorText } from '../components/ErrorText.tsx';
import { ProgressBar } from '../components/ProgressBar.tsx';
import { Segmented } from '../components/Segmented.tsx';
import { fmtBytes, fmtCount, fmtLayers } from '../format.ts';
import { useHost } from '../host/use-host.ts';
import { estimateRowOf, explainPrecision, PRECISION_CHOICES, suggestedRetry } from '../precision.ts';
import { numberProblem } from '../state/number-input.ts';
import { CONTEXT_MAX, CONTEXT_MIN, DEFAULT_CONTEXT, parseContext, type ModelEstimate } from '../state/slices/model-slice.ts';
import { useActions, useApp } from '../state/use-app.ts';
import { OpenAIEndpointPanel } from './OpenAIEndpointPanel.tsx';

/** Typing waits this long before the folder's memory estimate is asked for. */
const ESTIMATE_DELAY_MS = 350;

export function ModelView() {
  const { info, opening, error, path, picked, precision, contextText, estimate, failedOpen } = useApp((s) => s.model);
  const connected = useApp((s) => s.engine.status === 'connected');
  const { openModel, setModelPath, setPickedFolder, setPrecision, setContextText, estimateModel } = useActions();
  const host = useHost();
  const electron = !!host.openFolder;
  /** The folder Open would open (undefined: none yet), and the one the estimate is for (undefined: the demo model). */
  const folder = electron ? picked ?? undefined : path.trim() || undefined;
  const context = parseContext(contextText);
  const contextOk = context !== 'invalid';
  const requestContext = contextOk ? context : undefined;

  useEffect(() => {
    if (!connected || !contextOk) return;
    const timer = setTimeout(() => void estimateModel(folder, requestContext), ESTIMATE_DELAY_MS);
    return () => clearTimeout(timer);
  }, [connected, folder, requestContext, contextOk, estimateModel]);

  const pickFolder = async () => {
    const dir = await host.openFolder?.();
    if (dir) setPickedFolder(dir);
  };
  const retry = suggestedRetry(error);
  return (
    <div className="view view-model">
      <section className="panel">
        <h2>Open a checkpoint</h2>
        <p className="hint">A Hugging Face checkpoint folder: config.json, *.safetensors, tokenizer.json and its chat template. The first open at a precision builds its ONNX graph.</p>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (folder && contextOk) void openModel(folder);
          }}
        >
          {electron ? (
            <>
              <button type="button" className={picked ? 'secondary' : undefined} data-testid="model-open-folder" disabled={!!opening} onClick={() => void pickFolder()}>Open folder…</button>
              {picked && <span className="picked-folder grow mono" title={picked} data-testid="model-picked">{picked}</span>}
              {picked && <button type="submit" disabled={!!opening || !contextOk} data-testid="model-open">Open</button>}
            </>
          ) : (
            <>
              <input className="grow" type="text" placeholder="/path/to/checkpoint" value={path} onChange={(e) => setModelPath(e.target.value)} data-testid="model-path" aria-label="checkpoint folder" />
              <button type="submit" disabled={!!opening || !path.trim() || !contextOk} data-testid="model-open">Open</button>
            </>
          )}
          <button type="button" className="secondary" disabled={!!opening || !contextOk} onClick={() => void openModel()} data-testid="model-open-demo">Load demo model</button>
        </form>
        <div className="row controls wrap open-options">
          <div className="field">
            <span>Precision</span>
            <Segmented<PrecisionChoice>
              label="precision"
              value={precision}
              options={PRECISION_CHOICES.map((c) => ({ value: c.value, label: c.label, title: c.explain }))}
              onChange={setPrecision}
              testId="model-precision"
            />
          </div>
          <label className="field">
            <span>Context (tokens)</span>
            <input
              type="number"
              inputMode="numeric"
              min={CONTEXT_MIN}
              max={CONTEXT_MAX}
              step={1}
              value={contextText}
              placeholder={estimate?.data ? `${defaultContext(estimate.data)} (default)` : 'default'}
              onChange={(e) => setContextText(e.target.value)}
              aria-invalid={!contextOk}
              title={`empty: the model's own context, at most ${DEFAULT_CONTEXT}; otherwise ${CONTEXT_MIN}–${CONTEXT_MAX.toLocaleString('en')} (capped at the model's)`}
              style={{ width: 130 }}
              data-testid="model-context"
            />
            {!contextOk && (
              <span className="field-error" role="alert" data-testid="model-context-error">
                {numberProblem(contextText, { label: 'Context', min: CONTEXT_MIN, max: CONTEXT_MAX, integer: true })}; leave it empty for the model's own
              </span>
            )}
          </label>
        </div>
        <p className="hint precision-hint" data-testid="model-precision-hint"><b>{precision}</b>: {explainPrecision(precision)}</p>
        <EstimatePanel estimate={estimate} precision={precision} demo={!folder} hideError={!!error} />
        {opening && (
          <ProgressBar testId="model-progress" label={opening.total > 0 && opening.done < opening.total ? 'Building graph' : 'Loading the model'}
            done={opening.done} total={opening.total} />
        )}
        <ErrorText error={error && readableRefusal(error)} testId="model-error" />
        {retry && failedOpen && !opening && (
          <div className="row">
            <button
              type="button"
              className="small"
              data-testid="model-retry"
              onClick={() => {
                setPrecision(retry.precision);
                if (retry.context !== undefined) setContextText(String(retry.context));
                void openModel(failedOpen.dir, { precision: retry.precision, context: retry.context ?? requestContext });
              }}
            >
              Open at {retry.precision}{retry.context !== undefined ? `, context ${retry.context}` : ''}
            </button>
            {!info && <span className="hint">No model is loaded now.</span>}
          </div>
        )}
      </section>
      {info && <ModelCard info={info} />}
      <OpenAIEndpointPanel />
    </div>
  );
}

/**
 * A memory-guard refusal ("f32 needs … available; try precision int8 (…)", or every precision's figures when none
 * fits) is one long sentence of clauses: one clause a line reads better. Other errors are shown as worded.
 */
function readableRefusal(error: string): string {
  if (!/ available[;:]|does not fit in memory/.test(error)) return error;
  return error.replace(/(tokens): (?=\S+ needs )/, '$1:\n  ').replace(/; /g, ';\n  ');
}

const defaultContext = (e: MemoryEstimates) => Math.min(e.modelContext, DEFAULT_CONTEXT);

/** What each precision would take for the folder about to be opened, against the memory available. */
function EstimatePanel({ estimate, precision, demo, hideError }: { estimate: ModelEstimate | null; precision: PrecisionChoice; demo: boolean; hideError: boolean }) {
  if (!estimate) return null;
  if (estimate.error) return hideError ? null : <ErrorText error={estimate.error} testId="model-estimate-error" />;
  const e = estimate.data;
  if (!e) return <p className="hint">Estimating memory…</p>;
  const chosen = precision === 'auto' ? e.auto : estimateRowOf(precision);
  const capped = estimate.context !== undefined && e.context < estimate.context;
  const chosenFigures = e.estimates.find((f) => f.precision === chosen);
  return (
    <div className={estimate.loading ? 'estimate loading' : 'estimate'} data-testid="model-estimate" data-folder={e.folder} data-auto={e.auto ?? ''}>
      <div className="estimate-head" data-testid="model-estimate-summary">
        Memory estimate for {demo ? 'the demo model' : <span className="mono">{e.folder}</span>} ({e.architecture}) at a context
        of {e.context.toLocaleString('en')} tokens{capped ? ` (capped at the model's ${e.modelContext.toLocaleString('en')})` : ''}
        {' · '}<b>{fmtBytes(e.available)}</b> available{' · '}
        {e.auto ? <>auto picks <b>{e.auto}</b></> : <span className="error-inline">nothing fits: auto would refuse it</span>}
      </div>
      <table className="table compact estimate-table">
        <thead>
          <tr>
            <th>precision</th><th className="num">total</th><th className="num">weights</th><th className="num">KV cache</th><th className="num">workspace</th><th />
          </tr>
        </thead>
        <tbody>
          {e.estimates.map((f) => {
            const fits = f.total <= e.available;
            return (
              <tr key={f.precision} className={[fits ? '' : 'no-fit', f.precision === chosen ? 'chosen' : ''].join(' ').trim() || undefined}
                data-testid="model-estimate-row" data-precision={f.precision} data-fits={fits}>
                <td>
                  {f.precision}
                  {e.auto === f.precision && <>{' '}<span className="badge accent" title="what auto picks: the widest precision that fits">auto</span></>}
                </td>
                <td className="num"><b>{fmtBytes(f.total)}</b></td>
                <td className="num">{fmtBytes(f.weights)}</td>
                <td className="num">{fmtBytes(f.kvCache)}</td>
                <td className="num">{fmtBytes(f.workspace)}</td>
                <td className={fits ? 'muted' : 'error-inline'}>{fits ? 'fits' : `does not fit (${fmtBytes(f.total - e.available)} over)`}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {precision === 'bf16-as-f32' && <p className="hint">bf16-as-f32 holds float32 weights: it takes what f32 takes.</p>}
      {!hideError && precision !== 'auto' && chosenFigures && chosenFigures.total > e.available && (
        <p className="hint error-inline" data-testid="model-estimate-warning">
          {precision} is estimated above the memory available: the engine will refuse to open it{e.auto ? ` (${e.auto} fits)` : ''}.
        </p>
      )}
    </div>
  );
}

function ModelCard({ info }: { info: ModelInfo }) {
  const m = info.memory;
  const rows: [string, string][] = [
    ['Folder', info.folder],
    ['Architecture', `${info.architecture} (${info.family})`],
    ['Layers', `${info.layers} decoder layers, ${info.moeLayers.length} with MoE (${fmtLayers(info.moeLayers)})`],
    ['Experts', `${info.experts} routed per MoE layer, top-k = ${info.topK}`],
    ['Shared experts', info.sharedExperts ? `${info.sharedExperts} (always on, not maskable)` : 'none'],
    ['Router rule', `${info.routerRule}${info.normTopkProb ? ' · top-k weights renormalised' : ''}`],
    ['Parameters', `${fmtCount(info.parameters)} total, ${fmtCount(info.activeParameters)} active per token`],
    ['Precision', `${info.precision}: ${explainPrecision(info.precision)}`],
    ['Memory (estimate)', `${fmtBytes(m.total)} at ${m.precision}, context ${m.context.toLocaleString('en')}: weights ${fmtBytes(m.weights)}, KV cache ${fmtBytes(m.kvCache)}, workspace ${fmtBytes(m.workspace)}`],
    ['Weights in float32', fmtBytes(info.memoryBytes)],
    ['Hidden size · vocabulary · context', `${info.hiddenSize} · ${info.vocabSize.toLocaleString('en')} · ${info.contextLength.toLocaleString('en')} tokens`],
    ['Chat template', info.hasChatTemplate ? 'yes' : 'no (prompts are sent as plain text)'],
    ['Checkpoint hash', info.checkpoint],
  ];
  return (
    <section className="panel model-card" data-testid="model-card" data-precision={info.precision}>
      <h2>
        {info.architecture}
        {info.demo && <span className="badge">demo model</span>}
      </h2>
      <div className="stat-row">
        <Stat label="MoE layers" value={String(info.moeLayers.length)} />
        <Stat label="experts" value={String(info.experts)} />
        <Stat label="top-k" value={String(info.topK)} />
        <Stat label="shared" value={String(info.sharedExperts)} />
        <Stat label="precision" value={info.precision} testId="model-card-precision" />
        <Stat label={`memory (estimate, context ${m.context.toLocaleString('en')})`} value={fmtBytes(m.total)} testId="model-card-memory" />
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

function Stat({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div className="stat" data-testid={testId}>
      <div className="stat-value">{value}</div>
      <div className="stat-label">{label}</div>
    </div>
  );
}
