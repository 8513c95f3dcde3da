import { useMemo, useState } from 'react';
import { ErrorText } from '../../components/ErrorText.tsx';
import { fmtPct } from '../../format.ts';
import { useActions, useApp } from '../../state/use-app.ts';
import { classOutcomes } from './run-outcomes.ts';

const SHOWN_OUTPUTS = 200;
const NO_VERDICT = 'no verdict';

/** After a run (or on request from the runs table): per-class outcome rates, then every output with its verdict. */
export function RunSummaryPanel({ onOpenRun }: { onOpenRun(runId: number): void }) {
  const { summary, summaryError, summaryLoading } = useApp((s) => s.runRecords);
  const { closeRunSummary } = useActions();
  const [classFilter, setClassFilter] = useState('');
  const [verdictFilter, setVerdictFilter] = useState('');
  const outcomes = useMemo(() => (summary ? classOutcomes(summary.prompts, summary.run.classes) : null), [summary]);
  if (!summary || !outcomes) {
    return summaryError || summaryLoading !== null ? (
      <section className="panel">
        {summaryLoading !== null && <p className="hint">Loading the summary of run {summaryLoading}…</p>}
        <ErrorText error={summaryError} testId="run-summary-error" />
      </section>
    ) : null;
  }
  const { run, prompts } = summary;
  const verdictKey = (v: string | null) => v ?? NO_VERDICT;
  const shown = prompts.filter((p) => (!classFilter || p.class === classFilter) && (!verdictFilter || verdictKey(p.label) === verdictFilter));
  const anyVerdict = outcomes.verdicts.some((v) => v !== null);
  const anyAnswer = outcomes.rows.some((r) => r.answered > 0);
  return (
    <section className="panel" data-testid="run-summary" data-run-id={run.id}>
      <div className="panel-head">
        <h2>Run {run.id} outcomes <span className="muted small">{run.setId} · {prompts.length} / {run.promptCount} prompts · {run.generateTokens} generated tokens each</span></h2>
        <div className="row">
          {prompts.length > 0 && <button type="button" className="small secondary" onClick={() => onOpenRun(run.id)} data-testid="run-summary-imaging">Imaging</button>}
          <button type="button" className="small secondary" onClick={closeRunSummary} data-testid="run-summary-close">Close</button>
        </div>
      </div>
      {run.note && <p className="hint" data-testid="run-summary-note">Note: {run.note}</p>}
      {!anyVerdict && (
        <p className="hint">
          No verdicts: {run.generateTokens === 0 ? 'the run recorded prompts only (0 generated tokens), so there was no output to classify' : "the set's prompts carry forced responses or the set has no classifier"}.
        </p>
      )}
      <table className="table compact outcome-table" data-testid="run-outcomes">
        <thead>
          <tr>
            <th>class</th><th className="num">prompts</th>
            {anyVerdict && outcomes.verdicts.map((v) => <th key={verdictKey(v)} className="num" title={v === null ? 'prompts whose output was not classified' : `share of the class's prompts the classifier labelled "${v}"`}>{verdictKey(v)}</th>)}
            {anyAnswer && <th className="num" title="prompts whose expected answer was found in the output">answer found</th>}
          </tr>
        </thead>
        <tbody>
          {outcomes.rows.map((r) => (
            <tr key={r.class} data-testid="outcome-row" data-class={r.class}>
              <td><span className="class-chip">{r.class}</span></td>
              <td className="num">{r.prompts}</td>
              {anyVerdict && outcomes.verdicts.map((v) => {
                const n = r.counts.get(v) ?? 0;
                return (
                  <td key={verdictKey(v)} className={v === r.class ? 'num outcome-own' : 'num'} data-verdict={verdictKey(v)} data-count={n}>
                    {r.prompts ? fmtPct(n / r.prompts) : '–'} <span className="muted">({n})</span>
                  </td>
                );
              })}
              {anyAnswer && <td className="num">{r.answered ? `${fmtPct(r.correct / r.answered)} (${r.correct}/${r.answered})` : '–'}</td>}
            </tr>
          ))}
        </tbody>
      </table>
      <div className="row controls outputs-filter">
        <label className="field">
          <span>Class</span>
          <select value={classFilter} onChange={(e) => setClassFilter(e.target.value)} data-testid="outputs-class">
            <option value="">all</option>
            {outcomes.rows.map((r) => <option key={r.class} value={r.class}>{r.class}</option>)}
          </select>
        </label>
        <label className="field">
          <span>Verdict</span>
          <select value={verdictFilter} onChange={(e) => setVerdictFilter(e.target.value)} data-testid="outputs-verdict">
            <option value="">all</option>
            {outcomes.verdicts.map((v) => <option key={verdictKey(v)} value={verdictKey(v)}>{verdictKey(v)}</option>)}
          </select>
        </label>
        <span className="hint">{shown.length} outputs{shown.length > SHOWN_OUTPUTS ? `, the first ${SHOWN_OUTPUTS} shown` : ''}</span>
      </div>
      <div className="table-scroll">
        <table className="table" data-testid="run-outputs">
          <thead><tr><th className="num">#</th><th>class</th><th>prompt</th><th>output</th><th>verdict</th>{anyAnswer && <th>answer</th>}</tr></thead>
          <tbody>
            {shown.slice(0, SHOWN_OUTPUTS).map((p) => (
              <tr key={p.idx} data-testid="output-row" data-class={p.class} data-verdict={verdictKey(p.label)}>
                <td className="num">{p.idx}</td>
                <td><span className="class-chip">{p.class}</span></td>
                <td><div className="clamp-3">{p.text}</div></td>
                <td><div className="clamp-3 output-text">{p.outputText || <span className="muted">(none)</span>}</div></td>
                <td>{p.label === null ? <span className="muted">–</span> : <span className={p.label === p.class ? 'verdict verdict-own' : 'verdict'}>{p.label}</span>}</td>
                {anyAnswer && <td>{p.correct === null ? '–' : p.correct ? 'found' : 'missed'}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
