import type { ProbePromptInfo, ProbeSetInfo, ProbeSetListingError, RunSummary, TokenCountBasis } from '../../../engine/protocol/types.ts';
import { fmtBytes } from '../../format.ts';
import { EngineError, errorText, isCancelled } from '../../host/engine-client.ts';
import { FIELD } from '../number-input.ts';
import type { SliceContext } from '../store.ts';
import { fieldProblem } from './fields-slice.ts';

export type ProbeListing = ProbeSetInfo | ProbeSetListingError;
export const isListingError = (s: ProbeListing): s is ProbeSetListingError => 'error' in s;

/** Extensions and size the engine accepts for an uploaded probe set (engine/host/file-access.ts, FileAccess.upload). */
export const PROBE_SET_UPLOAD_ACCEPT = '.json,.yaml,.yml';
export const MAX_PROBE_SET_UPLOAD_BYTES = 2 * 1024 * 1024;
/** Selected first when listed: recording defaults to the demo's training set, not its held-out one (demo-heldout.json). */
export const DEFAULT_RECORDING_SET = 'demo-refusal.json';

/**
 * What a set is called where only one line fits (a <select>): its title, with its file when another listed set has
 * the same title (an uploaded, edited copy of a set in the probes folder, say).
 */
export function probeSetLabel(set: ProbeSetInfo, sets: readonly ProbeListing[]): string {
  const clash = sets.some((s) => s !== set && !isListingError(s) && s.title === set.title);
  return clash ? `${set.title} — ${set.file}` : set.title;
}

export interface ProbeJob {
  file: string;
  runId: number | null;
  done: number;
  total: number;
  /** The last recorded prompt, e.g. "#12 sensitive → refused". */
  last: string | null;
  cancelling: boolean;
}

export interface ProbesSlice {
  probes: {
    sets: ProbeListing[];
    error: string | null;
    selected: string | null;
    expanded: { file: string; set: ProbeSetInfo; prompts: ProbePromptInfo[]; tokenized: TokenCountBasis | null } | null;
    expandError: string | null;
    /** A probe-set file being uploaded (its name), and the last upload's error. */
    uploading: string | null;
    uploadError: string | null;
    generateTokens: number;
    forceNew: boolean;
    job: ProbeJob | null;
    /** Outcome of the last run ("run 4 finished", or its error). */
    jobMessage: string | null;
    jobFailed: boolean;
    /** Set when Run found the same set already recorded (same model, precision, options): that run, not a new one. */
    alreadyRecorded: { runId: number; finishedAt: string | null } | null;
    runs: RunSummary[];
    runsError: string | null;
  };
  loadProbeSets(): Promise<void>;
  selectProbeSet(file: string): Promise<void>;
  /**
   * Sends a probe-set file picked on this machine to the engine (probes.expand with its text), which validates and
   * stores it; the stored set becomes the selected one and shows in the list.
   */
  uploadProbeSet(file: File): Promise<void>;
  setGenerateTokens(n: number): void;
  setForceNew(forceNew: boolean): void;
  /** Starts a run of the selected set, or resumes `resume`; forceNew (default: the checkbox) records even a set already recorded. */
  runProbes(resume?: RunSummary, forceNew?: boolean): Promise<void>;
  cancelProbes(): void;
  loadRuns(): Promise<void>;
}

export const probesSlice = ({ host, set, get, jobs }: SliceContext): ProbesSlice => {
  const patch = (p: Partial<ProbesSlice['probes']>) => set((s) => ({ probes: { ...s.probes, ...p } }));
  const patchJob = (p: Partial<ProbeJob>) => set((s) => ({ probes: { ...s.probes, job: s.probes.job && { ...s.probes.job, ...p } } }));
  return {
    probes: {
      sets: [], error: null, selected: null, expanded: null, expandError: null, uploading: null, uploadError: null, generateTokens: 16, forceNew: false,
      job: null, jobMessage: null, jobFailed: false, alreadyRecorded: null, runs: [], runsError: null,
    },

    async loadProbeSets() {
      try {
        const sets = await host.engine.call('probes.list', {}).result;
        patch({ sets, error: null });
        const { selected } = get().probes;
        const first = sets.find((s) => !isListingError(s) && s.file.split(/[/\\]/).pop() === DEFAULT_RECORDING_SET) ?? sets.find((s) => !isListingError(s));
        if (!selected || !sets.some((s) => s.file === selected)) {
          if (first) await get().selectProbeSet(first.file);
        } else {
          await get().selectProbeSet(selected);
        }
      } catch (err) {
        patch({ error: errorText(err) });
      }
    },

    async selectProbeSet(file) {
      patch({ selected: file, expandError: null });
      try {
        const { set: info, prompts, tokenized } = await host.engine.call('probes.expand', { file }).result;
        if (get().probes.selected === file) patch({ expanded: { file, set: info, prompts, tokenized } });
      } catch (err) {
        if (get().probes.selected === file) patch({ expanded: null, expandError: errorText(err) });
      }
    },

    async uploadProbeSet(file) {
      if (get().probes.uploading) return;
      // Checked here as well, so a large file is never read or sent; the engine checks the text again.
      if (file.size > MAX_PROBE_SET_UPLOAD_BYTES) {
        patch({ uploadError: `${file.name}: is ${fmtBytes(file.size)}; a probe set may be at most ${fmtBytes(MAX_PROBE_SET_UPLOAD_BYTES)}` });
        return;
      }
      patch({ uploading: file.name, uploadError: null });
      try {
        const text = await file.text();
        const { set: info, prompts, tokenized } = await host.engine.call('probes.expand', { file: file.name, text }).result;
        patch({ selected: info.file, expanded: { file: info.file, set: info, prompts, tokenized }, expandError: null });
      } catch (err) {
        // The engine's problems with the file start each line with its name; anything else (the file unreadable
        // since it was picked, the engine gone) is prefixed with the name.
        const text = errorText(err);
        const named = text.startsWith(file.name) || text.startsWith(JSON.stringify(file.name));
        patch({ uploading: null, uploadError: named ? text : `${file.name}: ${text}` });
        return;
      }
      try {
        patch({ sets: await host.engine.call('probes.list', {}).result, error: null });
      } catch (err) {
        patch({ error: errorText(err) });
      } finally {
        patch({ uploading: null });
      }
    },

    setGenerateTokens: (generateTokens) => patch({ generateTokens }),
    setForceNew: (forceNew) => patch({ forceNew }),

    async runProbes(resume, forceNewRun) {
      const file = resume ? resume.setPath : get().probes.selected;
      if (!file || get().probes.job) return;
      const invalid = resume ? null : fieldProblem(get(), [FIELD.probeGenerate]);
      if (invalid) return patch({ jobMessage: `Not run: ${invalid}`, jobFailed: true });
      const { generateTokens } = get().probes;
      const forceNew = forceNewRun ?? get().probes.forceNew;
      patch({ job: { file, runId: resume?.id ?? null, done: resume?.recorded ?? 0, total: resume?.promptCount ?? 0, last: null, cancelling: false }, jobMessage: null, jobFailed: false, alreadyRecorded: null });
      const handle = host.engine.call(
        'probes.run',
        resume ? { file, generateTokens: resume.generateTokens, resumeRunId: resume.id } : { file, generateTokens, forceNew },
        (e) => {
          if (e.name !== 'probe.progress') return;
          const { runId, done, total, prompt } = e.data;
          if (get().probes.job?.runId !== runId) void get().loadRuns();
          patchJob({ runId, done, total, last: prompt ? `#${prompt.index} ${prompt.class}${prompt.label ? ` → ${prompt.label}` : ''}` : null });
        },
      );
      jobs.set('probes', handle);
      try {
        const r = await handle.result;
        if (r.alreadyRecorded) {
          patch({ job: null, alreadyRecorded: { runId: r.runId, finishedAt: r.alreadyRecorded.finishedAt } });
          return;
        }
        const resumed = r.resumedFrom > 0 ? ` (resumed after ${r.resumedFrom} recorded prompts)` : '';
        // Imaging (and the rankings Steering builds masks from) moves to the new run only when it shows none.
        const opens = r.status === 'finished' && get().imaging.runId === null;
        const shown = get().imaging.runId;
        const where = r.status === 'finished' && !opens && shown !== r.runId ? ` Imaging still shows run ${shown}: open run ${r.runId} from the list below.` : '';
        patch({ job: null, jobMessage: `Run ${r.runId} ${r.status}: ${r.recorded} prompts recorded${resumed}.${where}`, jobFailed: r.status === 'failed' });
        await get().loadRuns();
        if (opens) await get().selectRun(r.runId);
        if (r.status === 'finished') await get().showRunSummary(r.runId);
      } catch (err) {
        patch({ job: null, jobMessage: isCancelled(err) ? 'Run cancelled; resume it from the list below.' : errorText(err), jobFailed: !isCancelled(err) });
        // Without the engine there is no list to fetch; it is fetched again when the engine is back.
        if (!(err instanceof EngineError && err.code === 'disconnected')) await get().loadRuns();
      } finally {
        jobs.delete('probes');
      }
    },

    cancelProbes() {
      jobs.get('probes')?.cancel();
      patchJob({ cancelling: true });
    },

    async loadRuns() {
      try {
        patch({ runs: await host.engine.call('runs.list', {}).result, runsError: null });
      } catch (err) {
        patch({ runsError: errorText(err) });
      }
    },
  };
};
