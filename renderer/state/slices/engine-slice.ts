import type { ConnectionLoss, EngineStatus } from '../../host/engine-client.ts';
import { clearDatasets } from '../datasets.ts';
import type { SliceContext } from '../store.ts';

export interface EngineSlice {
  /** loss: browser mode's account of a lost connection (null while connected, and in Electron). */
  engine: { status: EngineStatus; everConnected: boolean; loss: ConnectionLoss | null };
  engineStatusChanged(status: EngineStatus): void;
  connectionLossChanged(loss: ConnectionLoss | null): void;
  /** Loads everything the views show from the engine: at start and again after the engine came back. */
  loadAll(): Promise<void>;
  /**
   * A different checkpoint is loaded: masks, comparisons and the imaging selection of the old one no longer apply,
   * and the selected probe set's token counts are redone with its tokenizer.
   */
  modelChanged(): void;
  /**
   * The same checkpoint is loaded at another precision or context: comparisons made at the old one no longer apply,
   * and the selected probe set's prompts are checked against the new context. Masks and runs still apply.
   */
  precisionChanged(): void;
}

export const engineSlice = ({ set, get }: SliceContext): EngineSlice => ({
  engine: { status: 'disconnected', everConnected: false, loss: null },

  engineStatusChanged(status) {
    const prev = get().engine;
    if (prev.status === status) return;
    set({ engine: { ...prev, status, everConnected: prev.everConnected || status === 'connected' } });
    if (status === 'connected') void get().loadAll();
  },

  connectionLossChanged: (loss) => set((s) => ({ engine: { ...s.engine, loss } })),

  async loadAll() {
    clearDatasets();
    await Promise.all([get().loadModel(), get().loadProbeSets(), get().loadRuns()]);
    get().restoreSession();
    await get().loadImaging();
  },

  modelChanged() {
    get().forgetRestored();
    get().clearMask();
    get().resetCompare();
    get().resetImaging();
    void get().loadRuns().then(() => {
      get().restoreSession();
      return get().loadImaging();
    });
    const { selected } = get().probes;
    if (selected) void get().selectProbeSet(selected);
  },

  precisionChanged() {
    get().resetCompare();
    const { selected } = get().probes;
    if (selected) void get().selectProbeSet(selected);
  },
});
