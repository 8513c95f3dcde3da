import type { ProbePromptInfo, RunSummary } from '../../engine/protocol/types.ts';
import { ErrorText } from '../components/ErrorText.tsx';
import { NumberField } from '../components/NumberField.tsx';
import { ProgressBar } from '../components/ProgressBar.tsx';
import { FIELD } from '../state/number-input.ts';
import { runMismatch } from '../state/slices/imaging-slice.ts';
import { isListingError, PROBE_SET_UPLOAD_ACCEPT } from '../state/slices/probes-slice.ts';
import { useActions, useApp } from '../state/use-app.ts';
import { RemoteRunForm } from './RemoteRunForm.tsx';
import { AlreadyRecorded } from './probes/AlreadyRecorded.tsx';
import { ProbeSetEditButtons, ProbeSetEditor } from './probes/ProbeSetEditor.tsx';
import { RunRecordButtons, RunNoteCell } from './probes/RunRecordCells.tsx';
import { RunSummaryPanel } from './probes/RunSummaryPanel.tsx';

const SHOWN_PROMPTS = 300;

export function ProbesView({ onOpenRun }: { onOpenRun(): void }) {
  const { selectRun } = useActions();
  const openRun = (runId: number) => {
    void selectRun(runId);
    onOpenRun();
  };
  return (
    <div className="view view-probes">
      <div className="columns">
        <ProbeSetList />
        <ProbeSetDetail onOpenRun={openRun} />
      </div>
      <ProbeSetEditor />
      <RunSummaryPanel onOpenRun={openRun} />
      <RunsTable onOpenRun={onOpenRun} />
    </div>
  );
}

function ProbeSetList() {
  const { sets, selected, error, uploading, uploadError } = useApp((s) => s.probes);
  const { selectProbeSet, uploadProbeSet } = useActions();
  return (
    <section className="panel side">
      <h2>Probe sets</h2>
      <ErrorText error={error} />
      <div className="row upload-row wrap">
        <label className={uploading ? 'file-button secondary disabled' : 'file-button secondary'}
          title="A .json or .yaml probe set of at most 2 MiB from this machine; the engine checks it and keeps a copy with its uploaded sets">
          <input
            type="file"
            accept={PROBE_SET_UPLOAD_ACCEPT}
            disabled={!!uploading}
            data-testid="probes-upload"
            onChange={(e) => {
              const file = e.target.files?.[0];
              // Cleared so that picking the same file again (after fixing it) loads it again.
              e.target.value = '';
              if (file) void uploadProbeSet(file);
            }}
          />
          {uploading ? `Loading ${uploading}…` : 'Load probe set from file…'}
        </label>
        <ProbeSetEditButtons />
      </div>
      <ErrorText error={uploadError} testId="probes-upload-error" />
      <ul className="list" data-testid="probe-sets">
        {sets.map((s) =>
          isListingError(s) ? (
            <li key={s.file} className="list-item broken" data-testid="probe-set-error" data-file={s.file}>
              <div className="item-title">{s.file}</div>
              <pre className="error small">{s.error}</pre>
            </li>
          ) : (
            <li key={s.file}>
              <button
                type="button"
                className={s.file === selected ? 'list-item selected' : 'list-item'}
                data-testid="probe-set"
                data-file={s.file}
                onClick={() => void selectProbeSet(s.file)}
              >
                <div className="item-title">{s.title}</div>
                <div className="item-meta">{s.file} · {s.type} · {s.promptCount} prompts · {s.classes.join(' / ')}</div>
              </button>
            </li>
          ),
        )}
      </ul>
    </section>
  );
}

function ProbeSetDetail({ onOpenRun }: { onOpenRun(runId: number): void }) {
  const { expanded, expandError, selected, generateTokens, forceNew, job, jobMessage, jobFailed } = useApp((s) => s.probes);
  const checkpoint = useApp((s) => s.model.info?.checkpoint);
  const precision = useApp((s) => s.model.info?.precision);
  const generateInvalid = useApp((s) => !!s.fields[FIELD.probeGenerate]);
  const { runProbes, cancelProbes, setGenerateTokens, setForceNew } = useActions();
  const prompts = expanded?.prompts ?? [];
  // Counts made with another model's tokenizer are not shown (the set is re-expanded when the model changes).
  const counted = expanded?.tokenized?.checkpoint === checkpoint ? expanded?.tokenized ?? null : null;
  const context = counted?.contextLength ?? Infinity;
  const overContext = (p: ProbePromptInfo) => (p.tokens ?? 0) > context;
  const tooLong = prompts.filter(overContext).length;
  return (
    <section className="panel grow">
      <h2>{expanded ? expanded.set.title : 'Prompts'}</h2>
      <ErrorText error={expandError} />
      <div className="row controls">
        <NumberField label="Generate tokens" field={FIELD.probeGenerate} value={generateTokens} onChange={setGenerateTokens} min={0} max={4096} testId="probe-generate-tokens" />
        <label className="check" title="Start a new run even if an identical run exists (otherwise an unfinished one is resumed, a finished one reported)">
          <input type="checkbox" checked={forceNew} onChange={(e) => setForceNew(e.target.checked)} data-testid="probe-force-new" />
          start fresh
        </label>
        <button type="button" disabled={!selected || !checkpoint || !!job || !expanded || tooLong > 0 || generateInvalid} onClick={() => void runProbes()}
          title={precision ? `records the run at the loaded model's precision, ${precision}` : undefined} data-testid="probe-run">Run probe set</button>
        <button type="button" className="secondary" disabled={!job || job.cancelling} onClick={cancelProbes} data-testid="probe-cancel">Cancel</button>
      </div>
      <RemoteRunForm />
      {job && <ProgressBar testId="probe-progress" label={job.cancelling ? 'Cancelling…' : job.runId ? `Run ${job.runId}` : 'Starting'} done={job.done} total={job.total} />}
      {job?.last && <div className="hint">last: {job.last}</div>}
      <AlreadyRecorded onOpenRun={onOpenRun} />
      {jobMessage && <div className={jobFailed ? 'message error-message' : 'message'} data-testid="probe-message">{jobMessage}</div>}
      {tooLong > 0 && (
        <div className="message error-message" data-testid="probe-too-long">
          {tooLong} of {prompts.length} prompts are longer than the model's context of {context.toLocaleString('en')} tokens, so
          this set cannot run on this model: shorten them or open a model with a longer context.
        </div>
      )}
      {counted?.unknownTokens?.warning && <div className="message warn-message" data-testid="probe-unknown-tokens">{counted.unknownTokens.warning}</div>}
      {expanded && (
        <div className="table-scroll">
          <table className="table" data-testid="probe-prompts">
            <thead>
              <tr>
                <th className="num">#</th><th>class</th>
                {counted && <th className="num" title="Tokens the prompt runs with under the loaded model: chat template and forced response included">tokens</th>}
                <th>prompt</th>
              </tr>
            </thead>
            <tbody>
              {prompts.slice(0, SHOWN_PROMPTS).map((p) => (
                <tr key={p.index}>
                  <td className="num">{p.index}</td>
                  <td><span className="class-chip">{p.class}</span></td>
                  {counted && (
                    <td className={overContext(p) ? 'num over-context' : 'num'} title={overContext(p) ? `longer than the model's context of ${context} tokens` : undefined}>
                      {p.tokens}
                    </td>
                  )}
                  <td>
                    <div className="clamp-3">{p.text}</div>
                    {p.response !== undefined && <div className="item-meta">response: {p.response}</div>}
                    {p.answer !== undefined && <div className="item-meta">answer: {p.answer}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {prompts.length > SHOWN_PROMPTS && <div className="hint">… and {prompts.length - SHOWN_PROMPTS} more prompts</div>}
        </div>
      )}
    </section>
  );
}

function RunsTable({ onOpenRun }: { onOpenRun(): void }) {
  const { runs, runsError, job } = useApp((s) => s.probes);
  const actionError = useApp((s) => s.runRecords.actionError);
  const info = useApp((s) => s.model.info);
  const checkpoint = info?.checkpoint;
  const { runProbes, selectRun } = useActions();
  const sorted = [...runs].sort((a, b) => b.id - a.id);
  const live = (r: RunSummary) => job?.runId === r.id;
  const unfinished = (r: RunSummary) => (r.status === 'running' || r.status === 'cancelled') && r.modelHash === checkpoint && !live(r);
  return (
    <section className="panel">
      <h2>Runs</h2>
      <ErrorText error={runsError} />
      <ErrorText error={actionError} testId="run-action-error" />
      {sorted.length === 0 ? (
        <p className="hint">No runs recorded yet.</p>
      ) : (
        <div className="table-scroll short">
          <table className="table" data-testid="runs-table">
            <thead>
              <tr>
                <th className="num">run</th><th>probe set</th><th>status</th><th className="num">recorded</th><th className="num">gen. tokens</th><th>model</th>
                <th title="the precision the run was recorded at">precision</th><th>created</th><th>note</th><th />
              </tr>
            </thead>
            <tbody>
              {sorted.map((r) => {
                const mismatch = runMismatch(r, info);
                const otherPrecision = mismatch === 'precision' ? `recorded at ${r.precision}, the model is loaded at ${info?.precision}` : undefined;
                return (
                  <tr key={r.id} data-testid="run-row" data-run-id={r.id} data-status={r.status} data-precision={r.precision}>
                    <td className="num">{r.id}</td>
                    <td>{r.setId}</td>
                    <td><span className={`status status-${r.status}`} title={r.error ?? undefined}>{r.status}</span></td>
                    <td className="num">{live(r) ? job!.done : r.recorded} / {r.promptCount}</td>
                    <td className="num">{r.generateTokens}</td>
                    <td className={mismatch === 'checkpoint' ? 'muted' : undefined}>{r.remote ? `${r.architecture} · ${r.remote.modelId} on ${r.remote.backend}` : `${r.architecture} ${r.modelHash.slice(0, 8)}`}</td>
                    <td data-testid="run-precision">
                      {r.remote ? <span className="muted" title={r.remote.url}>server</span> : otherPrecision
                        ? <span className="badge warn" title={`${otherPrecision}: it can be viewed, not resumed`}>{r.precision}</span>
                        : <span className={mismatch ? 'muted' : undefined}>{r.precision}</span>}
                    </td>
                    <td className="muted">{new Date(r.createdAt).toLocaleString()}</td>
                    <RunNoteCell run={r} />
                    <td className="actions">
                      {unfinished(r) && !r.remote && (
                        <button type="button" className="small" disabled={!!job || !!otherPrecision} onClick={() => void runProbes(r)} data-testid="run-resume"
                          title={otherPrecision ? `${otherPrecision}: reopen the model at ${r.precision} to resume it` : undefined}>
                          Resume
                        </button>
                      )}
                      {r.recorded > 0 && r.modelHash === checkpoint && (
                        <button type="button" className="small secondary" onClick={() => { void selectRun(r.id); onOpenRun(); }} data-testid="run-open">Imaging</button>
                      )}
                      <RunRecordButtons run={r} live={live(r)} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {info && sorted.some((r) => runMismatch(r, info) === 'precision') && (
        <p className="hint" data-testid="runs-precision-note">
          <span className="badge warn">marked</span> runs were recorded at another precision than the loaded model's ({info.precision}): they
          can be viewed in Imaging, but resumed only with the model reopened at their precision.
        </p>
      )}
    </section>
  );
}
