import type { EngineStatus } from '../../host/engine-client.ts';
import { clearDatasets } from '../datasets.ts';
import type { SliceContext } from '../store.ts';

export interface EngineSlice {
  engine: { status: EngineStatus; everConnected: boolean };
  engineStatusChanged(status: EngineStatus): void;
  /** Loads everything the views show from the engine: at start and again after the engine came back. */
  loadAll(): Promise<void>;
  /**
   * A different checkpoint is loaded: masks, comparisons and the imaging selection of the old one no longer apply,
   * and the selected probe set's token counts are redone with its tokenizer.
   */
  modelChanged(): void;
}

export const engineSlice = ({ set, get }: SliceContext): EngineSlice => ({
  engine: { status: 'disconnected', everConnected: false },

  engineStatusChanged(status) {
    const prev = get().engine;
    if (prev.status === status) return;
    set({ engine: { status, everConnected: prev.everConnected || status === 'connected' } });
    if (status === 'connected') void get().loadAll();
  },

  async loadAll() {
    clearDatasets();
    await Promise.all([get().loadModel(), get().loadProbeSets(), get().loadRuns()]);
    await get().loadImaging();
  },

  modelChanged() {
    get().clearMask();
    get().resetCompare();
    get().resetImaging();
    void get().loadRuns().then(() => get().loadImaging());
    const { selected } = get().probes;
    if (selected) void get().selectProbeSet(selected);
  },
});
