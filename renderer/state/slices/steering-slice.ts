import type { ExpertMask, ExpertState, GenerationResult, StopReason } from '../../../engine/protocol/types.ts';
import { errorText, isCancelled } from '../../host/engine-client.ts';
import { emptyTrace, generationTraces } from '../datasets.ts';
import { generateParams, traceEvent, type GenSettings } from '../generation.ts';
import { readSavedMasks, writeSavedMasks, type SavedMask } from '../mask-library.ts';
import { cycleExpert, emptyMask, setExpertState, stateOf, topNForced, topNOff } from '../mask-ops.ts';
import { cutWithTies, describeCutTie, describeIncludedTie, tieAtCut } from '../../../engine/common/ranking-ties.ts';
import { formatScore } from '../../../engine/common/statistics-format.ts';
import { rankings } from '../datasets.ts';
import { FIELD, GEN_FIELDS } from '../number-input.ts';
import { describeRanking, selectedRanking, topNOf, topRanked } from '../selectors.ts';
import type { MaskSource } from '../session.ts';
import type { SliceContext } from '../store.ts';
import { fieldProblem } from './fields-slice.ts';

export type GenStatus = 'idle' | 'waiting' | 'running' | 'done' | 'cancelled' | 'error';

export interface SteeringSlice {
  steering: {
    /** Entries in the order they were set (top-N: rank order), which evaluation's dose-response relies on. */
    mask: ExpertMask;
    /** The name exports give the mask: that of the saved or imported mask it came from, or typed in Export. */
    maskName: string;
    /** The ranking "Switch off top N" built the mask from; null for masks made by hand, loaded or imported. */
    maskSource: MaskSource | null;
    topN: number;
    /** True until N is typed: N then follows the ranking (selectors.topNOf). */
    topNAuto: boolean;
    /** Top-N takes every expert tied with the N-th (else it reports the tie it cut through). */
    includeTies: boolean;
    notice: string | null;
    saved: SavedMask[];
    gen: GenSettings;
    live: {
      auto: boolean; tokens: string[]; status: GenStatus; reason: StopReason | null; error: string | null;
      timing: GenerationResult['timing'] | null;
      /** Bumped as the run's trace (datasets.generationTraces.live) grows. */
      traceVersion: number;
    };
  };
  /**
   * Replaces the mask. `source`: where the new mask came from; left out, an edit of the current mask (its source, if
   * any, is kept and marked edited when entries change).
   */
  setMask(mask: ExpertMask, notice?: string | null, source?: MaskSource | null): void;
  setMaskName(name: string): void;
  cycleExpert(layer: number, expert: number): void;
  /** One expert straight to a state (Force in one action); a forced one goes back to normal with `toggle`. */
  setExpertState(layer: number, expert: number, state: ExpertState, toggle?: boolean): void;
  setTopN(n: number): void;
  setIncludeTies(includeTies: boolean): void;
  /** N follows the ranking again (q < α), after being typed. */
  resetTopN(): void;
  /** Replaces the mask with the top N ranked experts, switched off (default) or forced on. */
  applyTopN(state?: 'off' | 'forced'): void;
  clearMask(): void;
  setMaskOptions(p: Partial<Pick<ExpertMask, 'mode' | 'forceWeight'>>): void;
  saveMask(name: string): void;
  loadSavedMask(name: string): void;
  deleteSavedMask(name: string): void;
  setGen(p: Partial<GenSettings>): void;
  setLiveAuto(auto: boolean): void;
  /** Re-runs the live prompt ~300 ms after the last mask change, if auto is on and there is a prompt. */
  scheduleLive(): void;
  runLive(): Promise<void>;
}

const DEBOUNCE_MS = 300;

export const steeringSlice = ({ host, set, get, jobs }: SliceContext): SteeringSlice => {
  const patch = (p: Partial<SteeringSlice['steering']>) => set((s) => ({ steering: { ...s.steering, ...p } }));
  const patchLive = (p: Partial<SteeringSlice['steering']['live']>) => set((s) => ({ steering: { ...s.steering, live: { ...s.steering.live, ...p } } }));
  let timer: ReturnType<typeof setTimeout> | undefined;
  let liveRun = 0;
  return {
    steering: {
      mask: emptyMask(),
      maskName: '',
      maskSource: null,
      topN: 10,
      topNAuto: true,
      includeTies: false,
      notice: null,
      saved: readSavedMasks(),
      gen: { prompt: '', chat: true, maxTokens: 48, seed: 1, temperature: 0 },
      live: { auto: true, tokens: [], status: 'idle', reason: null, error: null, timing: null, traceVersion: 0 },
    },

    setMask(mask, notice = null, source) {
      const { maskSource, mask: before } = get().steering;
      const edited = maskSource && JSON.stringify(before.entries) !== JSON.stringify(mask.entries);
      patch({ mask, notice, maskSource: source !== undefined ? source : edited ? { ...maskSource, edited: true } : maskSource });
      get().scheduleLive();
    },

    setMaskName: (maskName) => patch({ maskName }),

    cycleExpert(layer, expert) {
      const { mask, notice } = cycleExpert(get().steering.mask, layer, expert, get().model.info?.topK ?? Infinity);
      get().setMask(mask, notice);
    },

    setTopN: (topN) => patch({ topN, topNAuto: false }),
    resetTopN: () => patch({ topNAuto: true }),

    setIncludeTies: (includeTies) => patch({ includeTies }),

    setExpertState(layer, expert, state, toggle = false) {
      const mask = get().steering.mask;
      const next = toggle && stateOf(mask, layer, expert) === state ? 'normal' : state;
      const r = setExpertState(mask, layer, expert, next, get().model.info?.topK ?? Infinity);
      get().setMask(r.mask, r.notice);
    },

    applyTopN(state = 'off') {
      const { mask, includeTies } = get().steering;
      const invalid = fieldProblem(get(), [FIELD.topN]);
      if (invalid) return patch({ notice: `Not applied: ${invalid}` });
      const chosen = selectedRanking(get());
      if (!chosen) {
        const gone = get().imaging.runMissing;
        return patch({ notice: gone ? `Not applied: run ${gone.id} of your session no longer exists; pick a run in Imaging.` : 'No ranking yet: record a probe run and open it in Imaging first.' });
      }
      if (!chosen.shown) {
        const { loading, error } = get().imaging;
        return patch({ notice: `Not applied: the ranking selected in Imaging (${describeRanking(chosen.selection)}) is ${loading ? 'still loading' : `not loaded${error ? `: ${error}` : ''}`}.` });
      }
      const ranking = rankings.get(get().imaging.rankingKey)!;
      const topN = topNOf(get()).n;
      const tie = tieAtCut(ranking.rank, topN);
      const n = includeTies ? cutWithTies(ranking.rank, topN) : topN;
      const ranked = topRanked(get(), n);
      if (ranked.length < topN) return patch({ notice: `Not applied: N = ${topN}, but the ranking has only ${ranked.length} experts.` });
      const score = tie ? formatScore(ranking.score[ranking.order[tie.rank - 1]]) : '';
      const tieNotice = tie && (includeTies ? describeIncludedTie(tie, score, topN) : describeCutTie(tie, score, 'tick “include ties”'));
      const source = { ...chosen.selection, n, edited: false };
      if (state === 'off') return get().setMask(topNOff(mask, ranked, n), tieNotice, source);
      const forced = topNForced(mask, ranked, n, get().model.info?.topK ?? Infinity);
      get().setMask(forced.mask, [tieNotice, forced.notice].filter(Boolean).join(' ') || null, source);
    },

    clearMask() {
      get().setMask(emptyMask(get().steering.mask), null, null);
    },

    setMaskOptions(p) {
      get().setMask({ ...get().steering.mask, ...p });
    },

    saveMask(name) {
      const { mask, saved } = get().steering;
      const entry: SavedMask = { name, savedAt: new Date().toISOString(), checkpoint: get().model.info?.checkpoint ?? '', mask, source: get().steering.maskSource };
      const next = [...saved.filter((m) => m.name !== name), entry].sort((a, b) => a.name.localeCompare(b.name));
      writeSavedMasks(next);
      patch({ saved: next, maskName: name, notice: `Saved "${name}".` });
    },

    loadSavedMask(name) {
      const m = get().steering.saved.find((s) => s.name === name);
      if (!m) return;
      const other = m.checkpoint && m.checkpoint !== get().model.info?.checkpoint;
      get().setMask(m.mask, other ? `"${name}" was saved on another checkpoint (${m.checkpoint.slice(0, 12)}…): check it fits.` : null, m.source ?? null);
      patch({ maskName: name });
    },

    deleteSavedMask(name) {
      const next = get().steering.saved.filter((m) => m.name !== name);
      writeSavedMasks(next);
      patch({ saved: next });
    },

    setGen: (p) => patch({ gen: { ...get().steering.gen, ...p } }),

    setLiveAuto: (auto) => patchLive({ auto }),

    scheduleLive() {
      const { live, gen } = get().steering;
      if (!live.auto || !gen.prompt.trim()) return;
      const invalid = fieldProblem(get(), GEN_FIELDS);
      if (invalid) return patchLive({ status: 'error', error: `Not re-run: ${invalid}` });
      clearTimeout(timer);
      patchLive({ status: 'waiting' });
      timer = setTimeout(() => void get().runLive(), DEBOUNCE_MS);
    },

    async runLive() {
      clearTimeout(timer);
      const { gen, mask } = get().steering;
      if (!gen.prompt.trim()) return;
      const invalid = fieldProblem(get(), GEN_FIELDS);
      if (invalid) return patchLive({ status: 'error', error: `Not run: ${invalid}` });
      jobs.get('live')?.cancel();
      const mine = ++liveRun;
      const trace = (generationTraces.live = emptyTrace(mask));
      patchLive({ tokens: [], status: 'running', reason: null, error: null, timing: null, traceVersion: get().steering.live.traceVersion + 1 });
      const handle = host.engine.call('generate', generateParams(gen, mask), (e) => {
        if (mine !== liveRun || !traceEvent(trace, e)) return;
        const { tokens, traceVersion } = get().steering.live;
        patchLive({ tokens: e.name === 'generate.token' ? [...tokens, e.data.text] : tokens, traceVersion: traceVersion + 1 });
      });
      jobs.set('live', handle);
      try {
        const r = await handle.result;
        if (mine === liveRun) patchLive({ status: r.reason === 'cancelled' ? 'cancelled' : 'done', reason: r.reason, timing: r.timing });
      } catch (err) {
        if (mine === liveRun) patchLive(isCancelled(err) ? { status: 'cancelled' } : { status: 'error', error: errorText(err) });
      } finally {
        if (jobs.get('live') === handle) jobs.delete('live');
      }
    },
  };
};
