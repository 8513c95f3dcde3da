import { ErrorText } from '../../components/ErrorText.tsx';
import { fmtPct } from '../../format.ts';
import { useActions, useApp } from '../../state/use-app.ts';

const pct = (v: number | null) => (v === null ? 'n/a' : fmtPct(v));

/** Stored evaluations, newest first; a row shows that evaluation above. */
export function EvaluationList() {
  const list = useApp((s) => s.evaluation.list);
  const listError = useApp((s) => s.evaluation.listError);
  const shown = useApp((s) => s.evaluation.result?.evaluationId ?? null);
  const { showEvaluation } = useActions();
  return (
    <section className="panel">
      <h2>Stored evaluations</h2>
      <ErrorText error={listError} testId="eval-list-error" />
      {list && list.length === 0 && <p className="hint">None yet: evaluations are kept here once run.</p>}
      {list && list.length > 0 && (
        <div className="table-scroll short">
          <table className="table compact" data-testid="eval-list">
            <thead>
              <tr><th className="num">#</th><th>created</th><th>set</th><th>behaviour</th><th className="num">experts</th><th className="num">baseline</th><th className="num">mask</th><th className="num">random p (K)</th><th>precision</th></tr>
            </thead>
            <tbody>
              {list.map((e) => (
                <tr key={e.evaluationId} className={`clickable${e.evaluationId === shown ? ' selected' : ''}`} onClick={() => void showEvaluation(e.evaluationId)} data-evaluation={e.evaluationId}>
                  <td className="num">{e.evaluationId}</td>
                  <td>{new Date(e.createdAt).toLocaleString()}</td>
                  <td>{e.setId}</td>
                  <td>{e.behaviour} on {e.targetClass}</td>
                  <td className="num">{e.entries}</td>
                  <td className="num">{pct(e.baselineRate)}</td>
                  <td className="num">{pct(e.maskedRate)}</td>
                  <td className="num">{e.randomP === null ? '—' : e.randomP.toFixed(3)} ({e.randomControls})</td>
                  <td>{e.precision ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
