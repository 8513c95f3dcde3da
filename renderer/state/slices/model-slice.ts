import type { MemoryEstimates, ModelInfo, Precision, PrecisionChoice } from '../../../engine/protocol/types.ts';
import { errorText } from '../../host/engine-client.ts';
import type { SliceContext } from '../store.ts';
import { lastModel } from './session-slice.ts';

/** The context bounds model.open and model.estimate accept (engine/protocol/methods.ts). */
export const CONTEXT_MIN = 16;
export const CONTEXT_MAX = 1 << 22;
/** The context a model opens with when none is given: its own, at most this. */
export const DEFAULT_CONTEXT = 4096;

/** The context field's text as a request value: undefined = the model's default, 'invalid' = not a usable number. */
export function parseContext(text: string): number | undefined | 'invalid' {
  const t = text.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isInteger(n) && n >= CONTEXT_MIN && n <= CONTEXT_MAX ? n : 'invalid';
}

export interface ModelEstimate {
  /** What it was asked for: the folder (undefined = the demo model) and context. */
  dir: string | undefined;
  context: number | undefined;
  data: MemoryEstimates | null;
  error: string | null;
  loading: boolean;
}

export interface ModelSlice {
  model: {
    info: ModelInfo | null;
    /** Graph build progress while a model opens. */
    opening: { done: number; total: number } | null;
    error: string | null;
    /** The open that failed, for a retry at what the engine suggested (dir undefined = the demo model). */
    failedOpen: { dir: string | undefined } | null;
    /** Folder typed in browser mode. */
    path: string;
    /** Folder picked with the Electron dialog, waiting for Open. */
    picked: string | null;
    /** Precision and context (text, empty = the model's default) the next open uses. */
    precision: PrecisionChoice;
    contextText: string;
    /** Memory estimate of the folder about to be opened. */
    estimate: ModelEstimate | null;
  };
  setModelPath(path: string): void;
  setPickedFolder(dir: string | null): void;
  setPrecision(precision: PrecisionChoice): void;
  setContextText(text: string): void;
  /** Asks the engine what opening `dir` (undefined = the demo model) would take at every precision. */
  estimateModel(dir: string | undefined, context: number | undefined): Promise<void>;
  /** The engine's current model; the demo model when it has none (or the folder that was open before a restart). */
  loadModel(): Promise<void>;
  /** Opens `dir` (undefined = the demo model) at the chosen precision and context, or at `at` (a reopen). */
  openModel(dir?: string, at?: { precision: Precision; context?: number }): Promise<void>;
}

export const modelSlice = ({ host, set, get }: SliceContext): ModelSlice => {
  const patch = (p: Partial<ModelSlice['model']>) => set((s) => ({ model: { ...s.model, ...p } }));
  const patchEstimate = (p: Partial<ModelEstimate>) => set((s) => ({ model: { ...s.model, estimate: s.model.estimate && { ...s.model.estimate, ...p } } }));
  /** The last model the engine reported, kept when the engine is left with none (a refused open unloads it). */
  let last: ModelInfo | null = null;
  let estimateRequest = 0;

  /** Takes `info` as the loaded model and tells the other slices what changed since the last one. */
  const adopt = (info: ModelInfo, firstLoadChanges: boolean) => {
    const before = last;
    last = info;
    patch({ info });
    if (before ? before.checkpoint !== info.checkpoint : firstLoadChanges) get().modelChanged();
    else if (before && (before.precision !== info.precision || before.contextLength !== info.contextLength)) get().precisionChanged();
  };

  return {
    model: { info: null, opening: null, error: null, failedOpen: null, path: '', picked: null, precision: 'auto', contextText: '', estimate: null },

    setModelPath: (path) => patch({ path, error: null, failedOpen: null }),
    setPickedFolder: (picked) => patch({ picked, error: null, failedOpen: null }),
    setPrecision: (precision) => patch({ precision }),
    setContextText: (contextText) => patch({ contextText }),

    async estimateModel(dir, context) {
      const mine = ++estimateRequest;
      const previous = get().model.estimate;
      patch({ estimate: { dir, context, data: previous?.data ?? null, error: null, loading: true } });
      try {
        const data = await host.engine.call('model.estimate', { ...(dir ? { dir } : {}), ...(context !== undefined ? { context } : {}) }).result;
        if (mine === estimateRequest) patchEstimate({ data, error: null, loading: false });
      } catch (err) {
        if (mine === estimateRequest) patchEstimate({ data: null, error: errorText(err), loading: false });
      }
    },

    async loadModel() {
      try {
        const current = await host.engine.call('model.current', {}).result;
        if (current) return adopt(current, false);
        // The engine has none (it was restarted): reopen the model of this page, or of the page before a reload.
        const saved = last ? { folder: last.demo ? null : last.folder, precision: last.precision, context: last.contextLength } : lastModel();
        if (saved) await get().openModel(saved.folder ?? undefined, { precision: saved.precision, context: saved.context });
        else await get().openModel();
      } catch (err) {
        patch({ error: errorText(err) });
      }
    },

    async openModel(dir, at) {
      const { precision, contextText } = get().model;
      const typed = parseContext(contextText);
      const context = at ? at.context : typed === 'invalid' ? undefined : typed;
      patch({ opening: { done: 0, total: 0 }, error: null, failedOpen: null });
      try {
        const params = { ...(dir ? { dir } : {}), precision: at?.precision ?? precision, ...(context !== undefined ? { context } : {}) };
        const info = await host.engine.call('model.open', params, (e) => {
          if (e.name === 'build.progress') patch({ opening: e.data });
        }).result;
        patch({ opening: null });
        adopt(info, true);
      } catch (err) {
        patch({ opening: null, error: errorText(err), failedOpen: { dir } });
        // A refused or failed open may have let the previous model go (the engine frees it before building the new one).
        try {
          const current = await host.engine.call('model.current', {}).result;
          if (current) adopt(current, false);
          else patch({ info: null });
        } catch {
          // The engine is gone; its status banner says so.
        }
      }
    },
  };
};
