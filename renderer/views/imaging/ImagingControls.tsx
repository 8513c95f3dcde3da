import { useShallow } from 'zustand/react/shallow';
import type { RankMethod, Span } from '../../../engine/protocol/types.ts';
import { Segmented } from '../../components/Segmented.tsx';
import { ALPHAS } from '../../../engine/common/statistics-format.ts';
import { runMismatch, runsOfModel, type ImagingScale, type ImagingShow } from '../../state/slices/imaging-slice.ts';
import { useActions, useApp } from '../../state/use-app.ts';

const SPANS: { value: Span; label: string; title: string }[] = [
  { value: 'prompt', label: 'prompt', title: 'prompt tokens' },
  { value: 'response', label: 'response', title: 'response tokens (teacher-forced or generated)' },
  { value: 'last', label: 'last', title: 'the last prompt token only' },
];

export function ImagingControls() {
  const im = useApp((s) => s.imaging);
  const runs = useApp(useShallow((s) => runsOfModel(s).filter((r) => r.recorded > 0)));
  const info = useApp((s) => s.model.info);
  const run = runs.find((r) => r.id === im.runId);
  const classes = run?.classes ?? [];
  const { selectRun, setImaging } = useActions();
  return (
    <div className="row controls wrap">
      <label className="field">
        <span>Run</span>
        <select value={im.runId ?? ''} onChange={(e) => void selectRun(Number(e.target.value))} className="run-select" data-testid="imaging-run" disabled={runs.length === 0}>
          {runs.length === 0 && <option value="">no runs for this model</option>}
          {runs.length > 0 && im.runId === null && <option value="" disabled>pick a run</option>}
          {runs.map((r) => (
            <option key={r.id} value={r.id}>
              run {r.id} · {r.setId} · {r.status} ({r.recorded}/{r.promptCount}) · {r.precision}{runMismatch(r, info) === 'precision' ? ' (≠ model)' : ''}
            </option>
          ))}
        </select>
      </label>
      {im.runMissing && (
        <span className="badge warn" data-testid="imaging-run-missing" title="No other run is shown in its place: pick one.">
          run {im.runMissing.id}{im.runMissing.label ? ` (${im.runMissing.label})` : ''} of your session no longer exists: pick a run
        </span>
      )}
      {run && runMismatch(run, info) === 'precision' && (
        <span className="badge warn run-precision-note" data-testid="imaging-run-precision"
          title="Rankings and heatmaps read what the run recorded; the loaded model runs at another precision (its routing can differ slightly).">
          recorded at {run.precision}, model at {info?.precision}
        </span>
      )}
      <div className="field">
        <span>Span</span>
        <Segmented label="token span" value={im.span} options={SPANS} onChange={(span) => void setImaging({ span })} testId="imaging-span" />
      </div>
      <div className="field">
        <span>Show</span>
        <Segmented<ImagingShow>
          label="cell colour"
          value={im.show}
          options={[{ value: 'score', label: 'score' }, { value: 'rate', label: 'rate' }, { value: 'mean', label: 'mean share' }]}
          onChange={(show) => void setImaging({ show })}
          testId="imaging-show"
        />
      </div>
      <div className="field">
        <span>Colour range</span>
        <Segmented<ImagingScale>
          label="colour range"
          value={im.scale}
          options={[
            { value: 'map', label: 'per map', title: "this map's own largest value" },
            { value: 'shared', label: 'shared', title: "one range over the maps of every run of this model (scores: same span and method; rates: every class), so weak maps look weak" },
          ]}
          onChange={(scale) => void setImaging({ scale })}
          testId="imaging-scale"
        />
      </div>
      {im.show === 'score' ? (
        <>
          <div className="field">
            <span>Score</span>
            <Segmented<RankMethod>
              label="score method"
              value={im.method}
              options={[{ value: 'mote', label: 'MoTE', title: 'mean per-prompt map, target − other' }, { value: 'rd', label: 'RD', title: 'risk difference of activation rates (SteerMoE)' }]}
              onChange={(method) => void setImaging({ method })}
              testId="imaging-method"
            />
          </div>
          <ClassSelect label="Target class" value={im.target} classes={classes} onChange={(target) => void setImaging({ target })} testId="imaging-target" />
          <div className="field">
            <span>Significance</span>
            <div className="row">
              <label className="check" title="Fade cells whose Benjamini–Hochberg q-value is at or above α">
                <input type="checkbox" checked={im.dim} onChange={(e) => void setImaging({ dim: e.target.checked })} data-testid="imaging-dim" /> fade q ≥
              </label>
              <select value={im.alpha} onChange={(e) => void setImaging({ alpha: Number(e.target.value) })} data-testid="imaging-alpha" aria-label="significance level α">
                {ALPHAS.map((a) => <option key={a} value={a}>{a}</option>)}
              </select>
            </div>
          </div>
        </>
      ) : (
        <ClassSelect label="Class" value={im.rateClass} classes={classes} onChange={(rateClass) => void setImaging({ rateClass })} testId="imaging-class" />
      )}
    </div>
  );
}

function ClassSelect({ label, value, classes, onChange, testId }: { label: string; value: string | null; classes: string[]; onChange(c: string): void; testId: string }) {
  return (
    <label className="field">
      <span>{label}</span>
      <select value={value ?? ''} onChange={(e) => onChange(e.target.value)} data-testid={testId} disabled={classes.length === 0}>
        {classes.map((c) => <option key={c} value={c}>{c}</option>)}
      </select>
    </label>
  );
}
