import { createStore, type StoreApi } from 'zustand/vanilla';
import type { Host } from '../host/host.ts';
import type { CompareSlice } from './slices/compare-slice.ts';
import { compareSlice } from './slices/compare-slice.ts';
import { engineSlice, type EngineSlice } from './slices/engine-slice.ts';
import { evaluationSlice, type EvaluationSlice } from './slices/evaluation-slice.ts';
import { fieldsSlice, type FieldsSlice } from './slices/fields-slice.ts';
import { imagingSlice, type ImagingSlice } from './slices/imaging-slice.ts';
import { modelSlice, type ModelSlice } from './slices/model-slice.ts';
import { probesSlice, type ProbesSlice } from './slices/probes-slice.ts';
import { probeEditorSlice, type ProbeEditorSlice } from './slices/probe-editor-slice.ts';
import { runRecordsSlice, type RunRecordsSlice } from './slices/run-records-slice.ts';
import { installSessionSaver, sessionSlice, type SessionSlice } from './slices/session-slice.ts';
import { steeringSlice, type SteeringSlice } from './slices/steering-slice.ts';

export type AppState = EngineSlice & ModelSlice & ProbesSlice & ImagingSlice & SteeringSlice & CompareSlice & EvaluationSlice & FieldsSlice & SessionSlice
  & RunRecordsSlice & ProbeEditorSlice;
export type AppStore = StoreApi<AppState>;

/** What every slice gets: the host, the store's set/get, and cancel handles of running jobs (kept out of state). */
export interface SliceContext {
  host: Host;
  set: AppStore['setState'];
  get: () => AppState;
  jobs: Map<string, { cancel(): void }>;
}

export function createAppStore(host: Host): AppStore {
  const jobs = new Map<string, { cancel(): void }>();
  const store = createStore<AppState>()((set, get) => {
    const ctx: SliceContext = { host, set, get, jobs };
    return {
      ...engineSlice(ctx),
      ...modelSlice(ctx),
      ...probesSlice(ctx),
      ...imagingSlice(ctx),
      ...steeringSlice(ctx),
      ...compareSlice(ctx),
      ...evaluationSlice(ctx),
      ...fieldsSlice(ctx),
      ...sessionSlice(ctx),
      ...runRecordsSlice(ctx),
      ...probeEditorSlice(ctx),
    };
  });
  installSessionSaver(store);
  host.engine.onStatus((status) => store.getState().engineStatusChanged(status));
  host.engine.onConnectionLoss((loss) => store.getState().connectionLossChanged(loss));
  // Runs started elsewhere (another window, the CLI on the same store) announce themselves only engine-wide.
  host.engine.onEngineEvent((e) => {
    if (e.name === 'probe.finished') void store.getState().loadRuns();
    if (e.name === 'model.opened') void store.getState().loadModel();
  });
  return store;
}
