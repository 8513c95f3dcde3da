import type { ExpertMask, ExpertState, GenerationResult, StopReason } from '../../../engine/protocol/types.ts';
import { errorText, isCancelled } from '../../host/engine-client.ts';
import { generateParams, type GenSettings } from '../generation.ts';
import { readSavedMasks, writeSavedMasks, type SavedMask } from '../mask-library.ts';
import { cycleExpert, emptyMask, setExpertState, stateOf, topNForced, topNOff } from '../mask-ops.ts';
import { topNOf, topRanked } from '../selectors.ts';
import type { SliceContext } from '../store.ts';

export type GenStatus = 'idle' | 'waiting' | 'running' | 'done' | 'cancelled' | 'error';

export interface SteeringSlice {
  steering: {
    /** Entries in the order they were set (top-N: rank order), which evaluation's dose-response relies on. */
    mask: ExpertMask;
    /** The name exports give the mask: that of the saved or imported mask it came from, or typed in Export. */
    maskName: string;
    topN: number;
    /** True until N is typed: N then follows the ranking (selectors.topNOf). */
    topNAuto: boolean;
    notice: string | null;
    saved: SavedMask[];
    gen: GenSettings;
    live: { auto: boolean; tokens: string[]; status: GenStatus; reason: StopReason | null; error: string | null; timing: GenerationResult['timing'] | null };
  };
  setMask(mask: ExpertMask, notice?: string | null): void;
  setMaskName(name: string): void;
  cycleExpert(layer: number, expert: number): void;
  /** One expert straight to a state (Force in one action); a forced one goes back to normal with `toggle`. */
  setExpertState(layer: number, expert: number, state: ExpertState, toggle?: boolean): void;
  setTopN(n: number): void;
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
      topN: 10,
      topNAuto: true,
      notice: null,
      saved: readSavedMasks(),
      gen: { prompt: '', chat: true, maxTokens: 48, seed: 1, temperature: 0 },
      live: { auto: true, tokens: [], status: 'idle', reason: null, error: null, timing: null },
    },

    setMask(mask, notice = null) {
      patch({ mask, notice });
      get().scheduleLive();
    },

    setMaskName: (maskName) => patch({ maskName }),

    cycleExpert(layer, expert) {
      const { mask, notice } = cycleExpert(get().steering.mask, layer, expert, get().model.info?.topK ?? Infinity);
      get().setMask(mask, notice);
    },

    setTopN: (topN) => patch({ topN, topNAuto: false }),
    resetTopN: () => patch({ topNAuto: true }),

    setExpertState(layer, expert, state, toggle = false) {
      const mask = get().steering.mask;
      const next = toggle && stateOf(mask, layer, expert) === state ? 'normal' : state;
      const r = setExpertState(mask, layer, expert, next, get().model.info?.topK ?? Infinity);
      get().setMask(r.mask, r.notice);
    },

    applyTopN(state = 'off') {
      const { mask } = get().steering;
      const { n } = topNOf(get());
      const ranked = topRanked(get(), n);
      if (ranked.length === 0) return patch({ notice: 'No ranking yet: record a probe run and open it in Imaging first.' });
      if (state === 'off') return get().setMask(topNOff(mask, ranked, n));
      const forced = topNForced(mask, ranked, n, get().model.info?.topK ?? Infinity);
      get().setMask(forced.mask, forced.notice);
    },

    clearMask() {
      get().setMask(emptyMask(get().steering.mask));
    },

    setMaskOptions(p) {
      get().setMask({ ...get().steering.mask, ...p });
    },

    saveMask(name) {
      const { mask, saved } = get().steering;
      const entry: SavedMask = { name, savedAt: new Date().toISOString(), checkpoint: get().model.info?.checkpoint ?? '', mask };
      const next = [...saved.filter((m) => m.name !== name), entry].sort((a, b) => a.name.localeCompare(b.name));
      writeSavedMasks(next);
      patch({ saved: next, maskName: name, notice: `Saved "${name}".` });
    },

    loadSavedMask(name) {
      const m = get().steering.saved.find((s) => s.name === name);
      if (!m) return;
      const other = m.checkpoint && m.checkpoint !== get().model.info?.checkpoint;
      get().setMask(m.mask, other ? `"${name}" was saved on another checkpoint (${m.checkpoint.slice(0, 12)}…): check it fits.` : null);
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
      clearTimeout(timer);
      patchLive({ status: 'waiting' });
      timer = setTimeout(() => void get().runLive(), DEBOUNCE_MS);
    },

    async runLive() {
      clearTimeout(timer);
      const { gen, mask } = get().steering;
      if (!gen.prompt.trim()) return;
      jobs.get('live')?.cancel();
      const mine = ++liveRun;
      patchLive({ tokens: [], status: 'running', reason: null, error: null, timing: null });
      const handle = host.engine.call('generate', generateParams(gen, mask), (e) => {
        if (mine === liveRun && e.name === 'generate.token') patchLive({ tokens: [...get().steering.live.tokens, e.data.text] });
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
