import { useEffect } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { ProbeSetInfo } from '../../../engine/protocol/types.ts';
import { ErrorText } from '../../components/ErrorText.tsx';
import { NumberField } from '../../components/NumberField.tsx';
import { ProgressBar } from '../../components/ProgressBar.tsx';
import { EVAL_FIELDS, FIELD } from '../../state/number-input.ts';
import { fieldProblem } from '../../state/slices/fields-slice.ts';
import { isListingError, probeSetLabel } from '../../state/slices/probes-slice.ts';
import { useActions, useApp } from '../../state/use-app.ts';
import { MaskSourceLine } from '../MaskSource.tsx';
import { EvaluationList } from './EvaluationList.tsx';
import { EvaluationResults } from './EvaluationResults.tsx';

export function EvaluateView() {
  const ev = useApp((s) => s.evaluation);
  const sets = useApp(useShallow((s) => s.probes.sets.filter((x): x is ProbeSetInfo => !isListingError(x))));
  const selectedSet = useApp((s) => s.probes.selected);
  const mask = useApp((s) => s.steering.mask);
  const maskSource = useApp((s) => s.steering.maskSource);
  const hasModel = useApp((s) => !!s.model.info);
  const invalid = useApp((s) => fieldProblem(s, EVAL_FIELDS));
  const { setEvaluation, runEvaluation, cancelEvaluation, loadEvaluations } = useActions();
  useEffect(() => {
    if (hasModel) void loadEvaluations();
  }, [hasModel, loadEvaluations]);
  const file = ev.file ?? selectedSet;
  const classes = sets.find((s) => s.file === file)?.classes ?? [];
  return (
    <div className="view view-evaluate">
      <section className="panel">
        <h2>Evaluate the mask over a probe set</h2>
        <p className="hint">
          Behaviour rate on the target class and accuracy on benign prompts, with no mask, with the current mask ({mask.entries.length} entries), with K random masks
          of the same shape, over the first 1…N entries (dose-response), and with the mask's experts forced on.
        </p>
        <MaskSourceLine source={maskSource} entries={mask.entries.length} testId="eval-mask-source" />
        <div className="row controls wrap">
          <label className="field">
            <span>Probe set</span>
            <select value={file ?? ''} onChange={(e) => setEvaluation({ file: e.target.value, targetClass: '' })} data-testid="eval-set">
              {sets.map((s) => <option key={s.file} value={s.file} title={s.file}>{probeSetLabel(s, sets)}</option>)}
            </select>
          </label>
          <label className="field">
            <span>Target class</span>
            <select value={ev.targetClass} onChange={(e) => setEvaluation({ targetClass: e.target.value })} data-testid="eval-target">
              <option value="">default</option>
              {classes.map((c) => <option key={c} value={c}>{c}</option>)}
            </select>
          </label>
          <NumberField label="Random controls K" field={FIELD.evalRandom} value={ev.randomControls} onChange={(randomControls) => setEvaluation({ randomControls })} min={0} max={100} testId="eval-random" />
          <NumberField label="Dose N" field={FIELD.evalDose} value={ev.dose} onChange={(dose) => setEvaluation({ dose })} min={0} max={256} testId="eval-dose" />
          <NumberField label="Max tokens" field={FIELD.evalMaxTokens} value={ev.maxTokens} onChange={(maxTokens) => setEvaluation({ maxTokens })} min={1} max={1024} testId="eval-max-tokens" />
          <label className="field stop-field" title="Each output ends before the first of these (one per line; write a line break as \n), besides EOS and the chat template's end-of-turn marker">
            <span>Stop at (one per line)</span>
            <textarea value={ev.stop} onChange={(e) => setEvaluation({ stop: e.target.value })} placeholder="e.g. \nUser:" data-testid="eval-stop" />
          </label>
          <button type="button" disabled={!file || !hasModel || !!ev.progress || mask.entries.length === 0 || !!invalid}
            title={invalid ? `Fix first: ${invalid}` : undefined} onClick={() => void runEvaluation()} data-testid="eval-run">
            Evaluate
          </button>
          <button type="button" className="secondary" disabled={!ev.progress || ev.cancelling} onClick={cancelEvaluation} data-testid="eval-cancel">Cancel</button>
        </div>
        {mask.entries.length === 0 && <p className="hint">The mask is empty: set one in Steering first.</p>}
        {ev.progress && <ProgressBar testId="eval-progress" label={ev.cancelling ? 'Cancelling…' : ev.progress.condition} done={ev.progress.done} total={ev.progress.total} />}
        <ErrorText error={ev.error} testId="eval-error" />
        {ev.result && <MaskSourceLine source={ev.maskSource} entries={ev.mask?.entries.length ?? 0} testId="eval-result-mask-source" what="The results below used a mask" />}
      </section>
      {ev.result && <EvaluationResults key={ev.result.evaluationId} result={ev.result} />}
      <EvaluationList />
    </div>
  );
}
