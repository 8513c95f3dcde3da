import type { RecordedPrompt, RunSummary } from '../../../engine/protocol/types.ts';
import { errorText } from '../../host/engine-client.ts';
import { heatmaps, promptRoutings, rankings } from '../datasets.ts';
import type { SliceContext } from '../store.ts';

/** Recorded runs as records: the summary of one run's outputs, notes, deletion. */
export interface RunRecordsSlice {
  runRecords: {
    /** The run whose summary is shown (after it finished, or picked in the runs table). */
    summary: { run: RunSummary; prompts: RecordedPrompt[] } | null;
    summaryLoading: number | null;
    summaryError: string | null;
    /** The last delete or note that failed, with its run. */
    actionError: string | null;
  };
  showRunSummary(runId: number): Promise<void>;
  closeRunSummary(): void;
  deleteRun(runId: number): Promise<void>;
  annotateRun(runId: number, note: string): Promise<boolean>;
}

export const runRecordsSlice = ({ host, set, get }: SliceContext): RunRecordsSlice => {
  const patch = (p: Partial<RunRecordsSlice['runRecords']>) => set((s) => ({ runRecords: { ...s.runRecords, ...p } }));
  return {
    runRecords: { summary: null, summaryLoading: null, summaryError: null, actionError: null },

    async showRunSummary(runId) {
      patch({ summaryLoading: runId, summaryError: null });
      try {
        const { run, prompts } = await host.engine.call('runs.get', { runId }).result;
        if (get().runRecords.summaryLoading === runId) patch({ summary: { run, prompts }, summaryLoading: null });
      } catch (err) {
        if (get().runRecords.summaryLoading === runId) patch({ summaryLoading: null, summaryError: `Run ${runId}: ${errorText(err)}` });
      }
    },

    closeRunSummary: () => patch({ summary: null, summaryError: null }),

    async deleteRun(runId) {
      patch({ actionError: null });
      try {
        await host.engine.call('runs.delete', { runId }).result;
        if (get().runRecords.summary?.run.id === runId) patch({ summary: null });
        // SQLite may give the next run the deleted run's id: nothing cached under it may outlive it.
        heatmaps.clear();
        rankings.clear();
        promptRoutings.clear();
        await get().loadRuns();
        if (get().imaging.runId === runId) await get().loadImaging();
      } catch (err) {
        patch({ actionError: `Run ${runId} was not deleted: ${errorText(err)}` });
      }
    },

    async annotateRun(runId, note) {
      patch({ actionError: null });
      try {
        const run = await host.engine.call('runs.annotate', { runId, note }).result;
        set((s) => ({ probes: { ...s.probes, runs: s.probes.runs.map((r) => (r.id === runId ? run : r)) } }));
        const shown = get().runRecords.summary;
        if (shown?.run.id === runId) patch({ summary: { ...shown, run } });
        return true;
      } catch (err) {
        patch({ actionError: `The note of run ${runId} was not saved: ${errorText(err)}` });
        return false;
      }
    },
  };
};
