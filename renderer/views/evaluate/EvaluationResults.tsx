import type { MethodResult } from '../../../engine/protocol/methods.ts';
import type { ConditionResult } from '../../../engine/protocol/types.ts';
import { DoseCurve } from '../../charts/DoseCurve.tsx';
import { RateBars } from '../../charts/RateBars.tsx';
import { fmtPct } from '../../format.ts';

const COLORS = { baseline: '#8c959f', mask: '#2456d6', random: '#c4a35a', accuracy: '#2f9e6e' };
const pct = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : fmtPct(v));

export function EvaluationResults({ result: r, entries }: { result: MethodResult<'evaluate'>; entries: number }) {
  const rs = r.randomSummary;
  const groups = [
    {
      label: `behaviour "${r.behaviour}" (${r.targetClass})`,
      bars: [
        { name: 'baseline', value: r.baseline.behaviourRate, color: COLORS.baseline },
        { name: `mask (${entries})`, value: r.masked.behaviourRate, color: COLORS.mask },
        { name: `random ×${r.randomControls.length}`, value: rs ? rs.behaviourMean : null, sd: rs?.behaviourSd, color: COLORS.random },
      ],
    },
    {
      label: 'benign accuracy',
      bars: [
        { name: 'baseline', value: r.baseline.benignAccuracy, color: COLORS.baseline },
        { name: `mask (${entries})`, value: r.masked.benignAccuracy, color: COLORS.mask },
        { name: `random ×${r.randomControls.length}`, value: rs?.accuracyMean ?? null, sd: rs?.accuracySd ?? undefined, color: COLORS.random },
      ],
    },
  ];
  const dosePoints = (pick: (c: ConditionResult) => number | null) => [{ x: 0, y: pick(r.baseline) }, ...r.dose.map((d) => ({ x: d.entries, y: pick(d) }))];
  return (
    <div className="columns equal" data-testid="eval-results">
      <section className="panel">
        <h2>Behaviour and accuracy</h2>
        <p className="hint">{r.setId}: {r.targetPrompts} target prompts, {r.benignPrompts} benign prompts · evaluation #{r.evaluationId}</p>
        <RateBars testId="eval-bars" groups={groups} />
        <table className="table compact" data-testid="eval-table">
          <thead>
            <tr><th>condition</th><th className="num">entries</th><th className="num">behaviour</th><th className="num">benign acc.</th><th className="num">benign behaviour</th></tr>
          </thead>
          <tbody>
            {[r.baseline, r.masked, ...(r.forced ? [r.forced] : [])].map((c) => (
              <tr key={c.name}>
                <td>{c.name}</td>
                <td className="num">{c.entries}</td>
                <td className="num">{pct(c.behaviourRate)}</td>
                <td className="num">{pct(c.benignAccuracy)}</td>
                <td className="num">{pct(c.benignBehaviourRate)}</td>
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
        <p className="hint" data-testid="eval-forced">
          {r.forced
            ? `Forcing the mask's experts on (benign prompts): behaviour ${pct(r.forced.benignBehaviourRate)} (baseline ${pct(r.baseline.benignBehaviourRate)}), accuracy ${pct(r.forced.benignAccuracy)}.`
            : 'No forcing result (the mask has no experts that can be forced).'}
        </p>
      </section>
      <section className="panel">
        <h2>Dose-response</h2>
        {r.dose.length === 0 ? (
          <p className="hint">Dose N was 0.</p>
        ) : (
          <DoseCurve
            testId="eval-dose-curve"
            series={[
              { name: `behaviour (${r.targetClass})`, color: COLORS.mask, points: dosePoints((c) => c.behaviourRate) },
              { name: 'benign accuracy', color: COLORS.accuracy, dashed: true, points: dosePoints((c) => c.benignAccuracy) },
            ]}
          />
        )}
      </section>
    </div>
  );
}
