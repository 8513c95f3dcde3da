import type { ModelInfo } from '../../../engine/protocol/types.ts';
import { errorText } from '../../host/engine-client.ts';
import type { SliceContext } from '../store.ts';

export interface ModelSlice {
  model: {
    info: ModelInfo | null;
    /** Graph build progress while a model opens. */
    opening: { done: number; total: number } | null;
    error: string | null;
    /** Folder typed in browser mode. */
    path: string;
  };
  setModelPath(path: string): void;
  /** The engine's current model; the demo model when it has none (or the folder that was open before a restart). */
  loadModel(): Promise<void>;
  openModel(dir?: string): Promise<void>;
}

export const modelSlice = ({ host, set, get }: SliceContext): ModelSlice => {
  const patch = (p: Partial<ModelSlice['model']>) => set((s) => ({ model: { ...s.model, ...p } }));
  return {
    model: { info: null, opening: null, error: null, path: '' },

    setModelPath: (path) => patch({ path }),

    async loadModel() {
      try {
        const current = await host.engine.call('model.current', {}).result;
        if (current) {
          const previous = get().model.info?.checkpoint;
          patch({ info: current, error: null });
          if (previous !== undefined && current.checkpoint !== previous) get().modelChanged();
          return;
        }
        const before = get().model.info;
        await get().openModel(before && !before.demo ? before.folder : undefined);
      } catch (err) {
        patch({ error: errorText(err) });
      }
    },

    async openModel(dir) {
      const previous = get().model.info?.checkpoint;
      patch({ opening: { done: 0, total: 0 }, error: null });
      try {
        const info = await host.engine.call('model.open', dir ? { dir } : {}, (e) => {
          if (e.name === 'build.progress') patch({ opening: e.data });
        }).result;
        patch({ info, opening: null });
        if (info.checkpoint !== previous) get().modelChanged();
      } catch (err) {
        patch({ opening: null, error: errorText(err) });
      }
    },
  };
};
