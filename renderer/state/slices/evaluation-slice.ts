import type { MethodResult } from '../../../engine/protocol/methods.ts';
import type { EvaluationSummary, ExpertMask } from '../../../engine/protocol/types.ts';
import { errorText, isCancelled } from '../../host/engine-client.ts';
import { EVAL_FIELDS } from '../number-input.ts';
import type { MaskSource } from '../session.ts';
import type { SliceContext } from '../store.ts';
import { fieldProblem } from './fields-slice.ts';

export interface EvaluationSlice {
  evaluation: {
    file: string | null;
    randomControls: number;
    dose: number;
    maxTokens: number;
    /** Empty: the engine's default (the behaviour label when it is a class, else the first class). */
    targetClass: string;
    /** Stop strings, one per line (\n and \t written out as such); outputs end before the first (besides EOS and the end-of-turn marker). */
    stop: string;
    progress: { done: number; total: number; condition: string } | null;
    cancelling: boolean;
    result: MethodResult<'evaluate'> | null;
    /** The mask the shown result was computed with, and the ranking it was built from. */
    mask: ExpertMask | null;
    maskSource: MaskSource | null;
    error: string | null;
    /** Stored evaluations, newest first (null until loaded). */
    list: EvaluationSummary[] | null;
    listError: string | null;
  };
  setEvaluation(p: Partial<Pick<EvaluationSlice['evaluation'], 'file' | 'randomControls' | 'dose' | 'maxTokens' | 'targetClass' | 'stop'>>): void;
  runEvaluation(): Promise<void>;
  cancelEvaluation(): void;
  loadEvaluations(): Promise<void>;
  /** Shows a stored evaluation as the result. */
  showEvaluation(evaluationId: number): Promise<void>;
}

export const evaluationSlice = ({ host, set, get, jobs }: SliceContext): EvaluationSlice => {
  const patch = (p: Partial<EvaluationSlice['evaluation']>) => set((s) => ({ evaluation: { ...s.evaluation, ...p } }));
  return {
    evaluation: {
      file: null, randomControls: 5, dose: 8, maxTokens: 32, targetClass: '', stop: '', progress: null, cancelling: false, result: null, mask: null, maskSource: null, error: null,
      list: null, listError: null,
    },

    setEvaluation: (p) => patch(p),

    async runEvaluation() {
      const ev = get().evaluation;
      const file = ev.file ?? get().probes.selected;
      if (!file || ev.progress) return;
      const invalid = fieldProblem(get(), EVAL_FIELDS);
      if (invalid) return patch({ error: `Not run: ${invalid}` });
      const { mask, maskSource } = get().steering;
      const stop = ev.stop.split('\n').filter(Boolean).map((line) => line.replace(/\\n/g, '\n').replace(/\\t/g, '\t'));
      patch({ file, progress: { done: 0, total: 0, condition: 'starting' }, cancelling: false, error: null });
      const handle = host.engine.call(
        'evaluate',
        { file, mask, randomControls: ev.randomControls, dose: ev.dose, maxTokens: ev.maxTokens, ...(ev.targetClass ? { targetClass: ev.targetClass } : {}), ...(stop.length ? { stop } : {}) },
        (e) => {
          if (e.name === 'evaluate.progress') patch({ progress: e.data });
        },
      );
      jobs.set('evaluate', handle);
      try {
        patch({ result: await handle.result, mask, maskSource, progress: null });
        void get().loadEvaluations();
      } catch (err) {
        patch({ progress: null, error: isCancelled(err) ? 'Evaluation cancelled.' : errorText(err) });
      } finally {
        jobs.delete('evaluate');
      }
    },

    cancelEvaluation() {
      jobs.get('evaluate')?.cancel();
      patch({ cancelling: true });
    },

    async loadEvaluations() {
      try {
        patch({ list: await host.engine.call('evaluations.list', {}).result, listError: null });
      } catch (err) {
        patch({ listError: errorText(err) });
      }
    },

    async showEvaluation(evaluationId) {
      try {
        const result = await host.engine.call('evaluations.get', { evaluationId }).result;
        patch({ result, mask: result.mask, maskSource: null, error: null });
      } catch (err) {
        patch({ error: errorText(err) });
      }
    },
  };
};
