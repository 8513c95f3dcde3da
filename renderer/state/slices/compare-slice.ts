import type { ExpertMask, GenerationResult, StopReason } from '../../../engine/protocol/types.ts';
import { errorText, isCancelled } from '../../host/engine-client.ts';
import { compareRouting, emptyCounts, emptyTrace, generationTraces } from '../datasets.ts';
import { countRouting, generateParams, traceEvent, type GenSettings } from '../generation.ts';
import { GEN_FIELDS } from '../number-input.ts';
import { baselineMask } from '../selectors.ts';
import type { MaskSource } from '../session.ts';
import type { SliceContext } from '../store.ts';
import { fieldProblem } from './fields-slice.ts';
import type { GenStatus } from './steering-slice.ts';

export interface PaneState {
  ids: number[];
  tokens: string[];
  status: GenStatus;
  reason: StopReason | null;
  error: string | null;
  timing: GenerationResult['timing'] | null;
}

type Side = 'baseline' | 'steered';

export interface CompareSlice {
  compare: {
    baseline: PaneState;
    steered: PaneState;
    /** Bumped as routing counts (datasets.compareRouting) grow. */
    routingVersion: number;
    /** What the last comparison ran with. */
    mask: ExpertMask | null;
    /** The ranking that mask was built from, if any. */
    maskSource: MaskSource | null;
    settings: GenSettings | null;
  };
  /** Baseline (empty mask) and steered (current mask), same prompt and seed, streamed side by side. */
  runCompare(): Promise<void>;
  cancelCompare(): void;
  resetCompare(): void;
}

const idle = (): PaneState => ({ ids: [], tokens: [], status: 'idle', reason: null, error: null, timing: null });

export const compareSlice = ({ host, set, get, jobs }: SliceContext): CompareSlice => {
  const patchPane = (side: Side, p: Partial<PaneState>) => set((s) => ({ compare: { ...s.compare, [side]: { ...s.compare[side], ...p } } }));
  let runNo = 0;

  async function runSide(side: Side, mine: number, mask: ExpertMask, settings: GenSettings): Promise<void> {
    const model = get().model.info!;
    const counts = emptyCounts(model.moeLayers, model.experts);
    compareRouting[side] = counts;
    const trace = (generationTraces[side] = emptyTrace(mask));
    patchPane(side, { ...idle(), status: 'running' });
    const handle = host.engine.call('generate', generateParams(settings, mask), (e) => {
      if (mine !== runNo || !traceEvent(trace, e)) return;
      if (e.name === 'generate.prompt') return set((s) => ({ compare: { ...s.compare, routingVersion: s.compare.routingVersion + 1 } }));
      if (e.name !== 'generate.token') return;
      countRouting(counts, e.data.routing);
      const pane = get().compare[side];
      set((s) => ({ compare: { ...s.compare, routingVersion: s.compare.routingVersion + 1, [side]: { ...pane, ids: [...pane.ids, e.data.id], tokens: [...pane.tokens, e.data.text] } } }));
    });
    jobs.set(`compare-${side}`, handle);
    try {
      const r = await handle.result;
      if (mine === runNo) patchPane(side, { status: r.reason === 'cancelled' ? 'cancelled' : 'done', reason: r.reason, timing: r.timing });
    } catch (err) {
      if (mine === runNo) patchPane(side, isCancelled(err) ? { status: 'cancelled' } : { status: 'error', error: errorText(err) });
    } finally {
      if (jobs.get(`compare-${side}`) === handle) jobs.delete(`compare-${side}`);
    }
  }

  return {
    compare: { baseline: idle(), steered: idle(), routingVersion: 0, mask: null, maskSource: null, settings: null },

    async runCompare() {
      const { mask, maskSource, gen } = get().steering;
      if (!gen.prompt.trim() || !get().model.info) return;
      const invalid = fieldProblem(get(), GEN_FIELDS);
      if (invalid) {
        const refused = { ...idle(), status: 'error' as const, error: `Not run: ${invalid}` };
        return set((s) => ({ compare: { ...s.compare, baseline: refused, steered: refused } }));
      }
      get().cancelCompare();
      const mine = ++runNo;
      set((s) => ({ compare: { ...s.compare, mask, maskSource, settings: gen } }));
      await Promise.all([runSide('baseline', mine, baselineMask(mask), gen), runSide('steered', mine, mask, gen)]);
    },

    cancelCompare() {
      jobs.get('compare-baseline')?.cancel();
      jobs.get('compare-steered')?.cancel();
    },

    resetCompare() {
      get().cancelCompare();
      runNo++;
      compareRouting.baseline = null;
      compareRouting.steered = null;
      generationTraces.baseline = null;
      generationTraces.steered = null;
      set({ compare: { baseline: idle(), steered: idle(), routingVersion: 0, mask: null, maskSource: null, settings: null } });
    },
  };
};
