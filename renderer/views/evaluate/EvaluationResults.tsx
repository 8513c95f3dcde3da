import { useRef, type RefObject } from 'react';
import type { ConditionResult, PromptVerdict, Proportion, StoredEvaluation } from '../../../engine/protocol/types.ts';
import { DoseCurve } from '../../charts/DoseCurve.tsx';
import { chartFile, chartPng } from '../../charts/export-chart.ts';
import { RateBars } from '../../charts/RateBars.tsx';
import { fmtPct } from '../../format.ts';
import { useHost } from '../../host/use-host.ts';
import { OutcomeLine, useExport } from '../export/export-outcome.tsx';

const COLORS = { baseline: '#8c959f', mask: '#2456d6', random: '#c4a35a', accuracy: '#2f9e6e' };
const pct = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : fmtPct(v));
const ci = (p: Proportion | null): [number, number] | undefined => (p ? [p.low, p.high] : undefined);
const signedPoints = (d: number) => `${d >= 0 ? '+' : '−'}${Math.abs(d * 100).toFixed(1)} points`;

/** A rate and, beneath it in small print, its 95 % Wilson interval and counts. */
function Rate({ rate, p }: { rate: number | null; p: Proportion | null }) {
  if (rate === null) return <>n/a</>;
  return (
    <>
      {pct(rate)}
      {p && <span className="ci" title={`${p.hits} of ${p.n}; 95 % Wilson interval`}> [{(p.low * 100).toFixed(1)}–{(p.high * 100).toFixed(1)}]</span>}
    </>
  );
}

function Verdict({ v }: { v: PromptVerdict }) {
  return (
    <>
      <span className="class-chip">{v.label}</span>
      {v.correct !== null && <span className={v.correct ? 'verdict-ok' : 'verdict-wrong'}> {v.correct ? 'correct' : 'wrong'}</span>}
      <div className="excerpt" title={v.output}>{v.output || '(empty)'}</div>
    </>
  );
}

export function EvaluationResults({ result: r }: { result: StoredEvaluation }) {
  const host = useHost();
  const [outcome, runExport] = useExport();
  const bars = useRef<HTMLDivElement>(null);
  const dose = useRef<HTMLDivElement>(null);
  const entries = r.mask.entries.length;
  const rs = r.randomSummary;
  const t = r.randomTest;
  const groups = [
    {
      label: `behaviour "${r.behaviour}" (${r.targetClass})`,
      bars: [
        { name: 'baseline', value: r.baseline.behaviourRate, ci: ci(r.baseline.behaviour), color: COLORS.baseline },
        { name: `mask (${entries})`, value: r.masked.behaviourRate, ci: ci(r.masked.behaviour), color: COLORS.mask },
        { name: `random ×${r.randomControls.length} (mean ± sd)`, value: rs ? rs.behaviourMean : null, sd: rs?.behaviourSd, color: COLORS.random },
      ],
    },
    {
      label: 'benign accuracy',
      bars: [
        { name: 'baseline', value: r.baseline.benignAccuracy, ci: ci(r.baseline.accuracy), color: COLORS.baseline },
        { name: `mask (${entries})`, value: r.masked.benignAccuracy, ci: ci(r.masked.accuracy), color: COLORS.mask },
        { name: `random ×${r.randomControls.length} (mean ± sd)`, value: rs?.accuracyMean ?? null, sd: rs?.accuracySd ?? undefined, color: COLORS.random },
      ],
    },
  ];
  const dosePoints = (pick: (c: ConditionResult) => number | null) => [{ x: 0, y: pick(r.baseline) }, ...r.dose.map((d) => ({ x: d.entries, y: pick(d) }))];
  const changed = r.prompts.filter((p) => p.changed);
  const base = `evaluation-${r.evaluationId}-${r.setId}`.replace(/[^\p{L}\p{N}._-]+/gu, '-');
  const exportChart = (ref: RefObject<HTMLDivElement | null>, name: string, title: string, kind: 'png' | 'svg') =>
    void runExport(`${title} (${kind.toUpperCase()})`, async () => {
      const file = chartFile(ref.current!, `${title} — evaluation #${r.evaluationId}, ${r.setId}`);
      return kind === 'png' ? host.saveBlob(`${base}-${name}.png`, await chartPng(file)) : host.saveText(`${base}-${name}.svg`, file.svg, 'image/svg+xml');
    });
  const exportCsv = (table: 'rates' | 'prompts') =>
    void runExport(`${table === 'rates' ? 'Rates' : 'Per-prompt outcomes'} (CSV)`, async () => {
      const { csv, fileName } = await host.engine.call('evaluations.csv', { evaluationId: r.evaluationId, table }).result;
      return host.saveText(fileName, csv, 'text/csv');
    });
  const forcedAccuracy = r.forced?.benignAccuracy ?? null;
  const baseAccuracy = r.baseline.benignAccuracy;
  return (
    <>
      <div className="columns equal" data-testid="eval-results">
        <section className="panel">
          <h2>Behaviour and accuracy</h2>
          <p className="hint" data-testid="eval-meta">
            Evaluation #{r.evaluationId} · {r.setId}: {r.targetPrompts} target prompts, {r.benignPrompts} benign prompts
            {r.precision && <> · {r.precision}</>} · {new Date(r.createdAt).toLocaleString()}
            {r.settings && <> · {r.settings.maxTokens} tokens, answers matched “{r.settings.answerMatch}”, outputs end at {[...r.settings.endOfTurn, ...r.settings.stop.map((s) => JSON.stringify(s))].join(', ')}</>}
          </p>
          <div ref={bars}><RateBars testId="eval-bars" groups={groups} /></div>
          <p className="hint">Bars: rate with its 95 % Wilson interval; random masks: mean ± sd over the K masks.</p>
          <table className="table compact" data-testid="eval-table">
            <thead>
              <tr><th>condition</th><th className="num">entries</th><th className="num">behaviour [95 % CI]</th><th className="num">benign acc. [95 % CI]</th><th className="num">benign behaviour [95 % CI]</th></tr>
            </thead>
            <tbody>
              {[r.baseline, r.masked, ...(r.forced ? [r.forced] : [])].map((c) => (
                <tr key={c.name} data-condition={c.name}>
                  <td>{c.name}</td>
                  <td className="num">{c.entries}</td>
                  <td className="num"><Rate rate={c.behaviourRate} p={c.behaviour} /></td>
                  <td className="num"><Rate rate={c.benignAccuracy} p={c.accuracy} /></td>
                  <td className="num"><Rate rate={c.benignBehaviourRate} p={c.benignBehaviour} /></td>
                </tr>
              ))}
              {rs && (
                <tr>
                  <td>random (mean ± sd)</td>
                  <td className="num">{r.randomControls[0]?.entries ?? ''}</td>
                  <td className="num">{pct(rs.behaviourMean)} ± {pct(rs.behaviourSd)}</td>
                  <td className="num">{rs.accuracyMean === null ? 'n/a' : `${pct(rs.accuracyMean)} ± ${pct(rs.accuracySd)}`}</td>
                  <td />
                </tr>
              )}
            </tbody>
          </table>
          <div className={`random-test${t.note ? ' weak' : ''}`} data-testid="eval-random-test">
            {t.p === null
              ? <>Random-mask test: {t.note}</>
              : <>
                  Random-mask test: <b>{t.atLeastAsLarge} of {t.controls}</b> random masks of the same shape cut the behaviour at least as much as the
                  mask; permutation <b data-testid="eval-random-p">p = {t.p.toFixed(3)}</b>.
                  {t.note && <div className="hint">{t.note}</div>}
                </>}
          </div>
          <p className="hint" data-testid="eval-forced">
            {r.forced
              ? <>Forcing the mask's experts on (benign prompts): accuracy {pct(baseAccuracy)} → <b>{pct(forcedAccuracy)}</b>
                  {forcedAccuracy !== null && baseAccuracy !== null && <> (<b>{signedPoints(forcedAccuracy - baseAccuracy)}</b>)</>}; behaviour {pct(r.baseline.benignBehaviourRate)} → {pct(r.forced.benignBehaviourRate)}.</>
              : 'No forcing result (the mask has no experts that can be forced).'}
          </p>
          <div className="row wrap">
            <button type="button" className="secondary" onClick={() => exportChart(bars, 'rates', 'Behaviour and accuracy', 'png')} data-testid="eval-export-bars-png">Chart PNG</button>
            <button type="button" className="secondary" onClick={() => exportChart(bars, 'rates', 'Behaviour and accuracy', 'svg')} data-testid="eval-export-bars-svg">Chart SVG</button>
            <button type="button" className="secondary" onClick={() => exportCsv('rates')} data-testid="eval-export-rates-csv">Rates CSV</button>
            <button type="button" className="secondary" onClick={() => exportCsv('prompts')} disabled={!r.prompts.length} data-testid="eval-export-prompts-csv">Per-prompt CSV</button>
          </div>
          <OutcomeLine outcome={outcome} testId="eval-export-result" />
        </section>
        <section className="panel">
          <h2>Dose-response</h2>
          {r.dose.length === 0 ? (
            <p className="hint">Dose N was 0.</p>
          ) : (
            <>
              <div ref={dose}>
                <DoseCurve
                  testId="eval-dose-curve"
                  series={[
                    { name: `behaviour (${r.targetClass})`, color: COLORS.mask, points: dosePoints((c) => c.behaviourRate) },
                    { name: 'benign accuracy', color: COLORS.accuracy, dashed: true, points: dosePoints((c) => c.benignAccuracy) },
                  ]}
                />
              </div>
              <p className="hint">Each point: the mask's first n entries over every prompt of the set.</p>
              <div className="row wrap">
                <button type="button" className="secondary" onClick={() => exportChart(dose, 'dose', 'Dose-response', 'png')} data-testid="eval-export-dose-png">Chart PNG</button>
                <button type="button" className="secondary" onClick={() => exportChart(dose, 'dose', 'Dose-response', 'svg')} data-testid="eval-export-dose-svg">Chart SVG</button>
              </div>
            </>
          )}
        </section>
      </div>
      <section className="panel">
        <h2>Prompts whose outcome the mask changed</h2>
        {r.prompts.length === 0
          ? <p className="hint">This evaluation was stored before per-prompt outcomes were kept.</p>
          : (
            <>
              <p className="hint" data-testid="eval-changed-count">{changed.length} of {r.prompts.length} prompts changed label or answer verdict (both directions).</p>
              {changed.length > 0 && (
                <div className="table-scroll short">
                  <table className="table compact" data-testid="eval-changed">
                    <thead><tr><th className="num">#</th><th>class</th><th>prompt</th><th>answer</th><th>baseline</th><th>mask</th></tr></thead>
                    <tbody>
                      {changed.map((p) => (
                        <tr key={p.index}>
                          <td className="num">{p.index}</td>
                          <td><span className="class-chip">{p.class}</span></td>
                          <td>{p.text}</td>
                          <td>{p.answer ?? '—'}</td>
                          <td><Verdict v={p.baseline} /></td>
                          <td><Verdict v={p.masked} /></td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </>
          )}
      </section>
    </>
  );
}
