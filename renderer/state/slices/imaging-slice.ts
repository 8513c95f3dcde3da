import { DEFAULT_ALPHA } from '../../../engine/common/statistics-format.ts';
import type { ModelInfo, PromptHit, RankMethod, RunSummary, Span } from '../../../engine/protocol/types.ts';
import { largestValue } from '../../heatmap/color.ts';
import { errorText } from '../../host/engine-client.ts';
import { heatmapKey, heatmaps, promptRoutings, rankingKey, rankings, toHeatmapGrids, toRankingGrids } from '../datasets.ts';
import type { AppState, SliceContext } from '../store.ts';

export type ImagingShow = 'rate' | 'mean' | 'score';
/** Colour range: each map's own maximum, or one range over the maps of every run of the model (see sharedRange). */
export type ImagingScale = 'map' | 'shared';
/** Largest |score|, rate and mean share over the maps of every recorded run of the model at one span and method. */
export interface SharedRange {
  score: number;
  rate: number;
  mean: number;
}

export interface ImagingSlice {
  imaging: {
    runId: number | null;
    span: Span;
    /** Cell colour: a class's token activation rate, its mean per-prompt share, or the ranking score. */
    show: ImagingShow;
    rateClass: string | null;
    method: RankMethod;
    target: string | null;
    /** Keys into datasets.ts. */
    heatmapKey: string | null;
    rankingKey: string | null;
    loading: boolean;
    error: string | null;
    cell: { layer: number; expert: number } | null;
    hits: PromptHit[] | null;
    hitsError: string | null;
    /** Prompt shown in the token strip; its routing is in datasets.promptRoutings under `${runId}|${idx}`. */
    routingIdx: number | null;
    routingError: string | null;
    scale: ImagingScale;
    /** Significance level: ranking cells with q ≥ alpha are dimmed (when `dim`) and their q shown muted. */
    alpha: number;
    dim: boolean;
    /**
     * With scale 'shared': the range over every recorded run of the model at this span — scores of its ranking
     * for this method (target: this one where the run has it, else its first class), rates and shares of every class.
     */
    sharedRange: SharedRange | null;
    /**
     * The run that was selected (restored from the session, or chosen earlier) and is no longer recorded for this
     * model. Shown until the user picks a run; no other run is picked in its place.
     */
    runMissing: { id: number; label: string | null } | null;
  };
  selectRun(runId: number): Promise<void>;
  setImaging(p: Partial<Pick<ImagingSlice['imaging'], 'span' | 'show' | 'rateClass' | 'method' | 'target' | 'scale' | 'alpha' | 'dim'>>): Promise<void>;
  /**
   * Fetches what the current selection needs. With no run selected (a model's first visit) it picks the newest
   * finished one; a selected run that no longer exists is reported (runMissing), never replaced by another.
   */
  loadImaging(): Promise<void>;
  resetImaging(): void;
  selectCell(layer: number, expert: number): Promise<void>;
  showPromptRouting(idx: number): Promise<void>;
}

/** Runs recorded with the loaded checkpoint (at any precision: they can be viewed), newest first. */
export const runsOfModel = (s: AppState): RunSummary[] =>
  s.probes.runs.filter((r) => r.modelHash === s.model.info?.checkpoint).sort((a, b) => b.id - a.id);

/** How a run differs from the loaded model: another checkpoint, the same one at another precision, or not at all. */
export function runMismatch(run: RunSummary, info: ModelInfo | null): 'checkpoint' | 'precision' | null {
  if (run.modelHash !== info?.checkpoint) return 'checkpoint';
  return run.precision !== info.precision ? 'precision' : null;
}

const initial: ImagingSlice['imaging'] = {
  runId: null, span: 'prompt', show: 'score', rateClass: null, method: 'mote', target: null, heatmapKey: null, rankingKey: null,
  loading: false, error: null, cell: null, hits: null, hitsError: null, routingIdx: null, routingError: null, runMissing: null,
  scale: 'map', alpha: DEFAULT_ALPHA, dim: true, sharedRange: null,
};

export const imagingSlice = ({ host, set, get }: SliceContext): ImagingSlice => {
  const patch = (p: Partial<ImagingSlice['imaging']>) => set((s) => ({ imaging: { ...s.imaging, ...p } }));
  /** The heatmap and ranking of every run at this span (fetched where the caches lack them), reduced to their range. */
  async function loadShared(runs: RunSummary[], span: Span, target: string, method: RankMethod): Promise<SharedRange> {
    const all = await Promise.all(runs.map(async (run) => {
      const runTarget = run.classes.includes(target) ? target : run.classes[0];
      const hKey = heatmapKey(run.id, span);
      const rKey = rankingKey(run.id, span, runTarget, method);
      const [h, r] = await Promise.all([
        heatmaps.get(hKey) ?? host.engine.call('runs.heatmap', { runId: run.id, span }).result.then(toHeatmapGrids).catch(() => null),
        rankings.get(rKey) ?? host.engine.call('runs.rank', { runId: run.id, span, target: runTarget, method }).result.then(toRankingGrids).catch(() => null),
      ]);
      if (h) heatmaps.set(hKey, h);
      if (r) rankings.set(rKey, r);
      // A run without tokens at this span (or of this class) has no map to share: it is left out.
      return {
        score: r ? largestValue(r.score, true) : 0,
        rate: Math.max(0, ...(h?.classes ?? []).map((c) => largestValue(c.rate, false))),
        mean: Math.max(0, ...(h?.classes ?? []).map((c) => largestValue(c.mean, false))),
      };
    }));
    return { score: Math.max(0, ...all.map((m) => m.score)), rate: Math.max(0, ...all.map((m) => m.rate)), mean: Math.max(0, ...all.map((m) => m.mean)) };
  }
  let request = 0;
  return {
    imaging: initial,

    async selectRun(runId) {
      patch({ runId, runMissing: null, cell: null, hits: null, routingIdx: null });
      await get().loadImaging();
    },

    async setImaging(p) {
      patch({ ...p, ...(p.span ? { cell: null, hits: null, routingIdx: null } : {}) });
      await get().loadImaging();
    },

    resetImaging: () => patch(initial),

    async loadImaging() {
      const runs = runsOfModel(get()).filter((r) => r.recorded > 0);
      let { runId } = get().imaging;
      if (runId !== null && !runs.some((r) => r.id === runId)) {
        // Without a run list (the engine is gone) nothing is known to be missing.
        if (get().probes.runsError) return;
        return patch({ runId: null, runMissing: { id: runId, label: null }, heatmapKey: null, rankingKey: null, cell: null, hits: null, routingIdx: null });
      }
      if (runId === null) {
        if (get().imaging.runMissing) return patch({ heatmapKey: null, rankingKey: null });
        // The newest finished run at the loaded precision, else the newest finished one, else the newest.
        const precision = get().model.info?.precision;
        const finished = runs.filter((r) => r.status === 'finished');
        runId = (finished.find((r) => r.precision === precision) ?? finished[0] ?? runs[0])?.id ?? null;
      }
      if (runId === null) return patch({ runId: null, heatmapKey: null, rankingKey: null });
      const run = runs.find((r) => r.id === runId)!;
      const im = get().imaging;
      const rateClass = im.rateClass && run.classes.includes(im.rateClass) ? im.rateClass : run.classes[0];
      const target = im.target && run.classes.includes(im.target) ? im.target : run.classes[0];
      const hKey = heatmapKey(runId, im.span);
      const rKey = rankingKey(runId, im.span, target, im.method);
      patch({ runId, rateClass, target });
      const mine = ++request;
      patch({ loading: true, error: null });
      try {
        const [h, r] = await Promise.all([
          heatmaps.get(hKey) ?? host.engine.call('runs.heatmap', { runId, span: im.span }).result.then(toHeatmapGrids),
          rankings.get(rKey) ?? host.engine.call('runs.rank', { runId, span: im.span, target, method: im.method }).result.then(toRankingGrids),
        ]);
        heatmaps.set(hKey, h);
        rankings.set(rKey, r);
        const sharedRange = im.scale === 'shared' ? await loadShared(runs, im.span, target, im.method) : null;
        if (mine === request) patch({ heatmapKey: hKey, rankingKey: rKey, sharedRange, loading: false });
      } catch (err) {
        if (mine === request) patch({ loading: false, error: errorText(err) });
      }
    },

    async selectCell(layer, expert) {
      const { runId, span } = get().imaging;
      if (runId === null) return;
      patch({ cell: { layer, expert }, hits: null, hitsError: null });
      try {
        const hits = await host.engine.call('runs.expertPrompts', { runId, layer, expert, span }).result;
        const cell = get().imaging.cell;
        if (cell?.layer === layer && cell.expert === expert) patch({ hits });
      } catch (err) {
        patch({ hitsError: errorText(err) });
      }
    },

    async showPromptRouting(idx) {
      const { runId } = get().imaging;
      if (runId === null) return;
      const key = `${runId}|${idx}`;
      patch({ routingError: null });
      try {
        if (!promptRoutings.get(key)) promptRoutings.set(key, await host.engine.call('runs.promptRouting', { runId, idx }).result);
        patch({ routingIdx: idx });
      } catch (err) {
        patch({ routingError: errorText(err) });
      }
    },
  };
};
