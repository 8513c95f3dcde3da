import type { ModelInfo } from '../../../engine/protocol/types.ts';
import { compareRouting, type RoutingCounts } from '../datasets.ts';
import { readLastModel, readSession, writeLastModel, writeSession, type KeyValueStore, type SavedCounts, type SavedPane, type SavedSession } from '../session.ts';
import type { AppState, AppStore, SliceContext } from '../store.ts';
import type { PaneState } from './compare-slice.ts';
import { isListingError } from './probes-slice.ts';

export interface SessionSlice {
  session: {
    /** The checkpoint whose saved session has been read (and applied, if there was a usable one); saving waits for it. */
    restoredFor: string | null;
    /** What restoring found wrong, shown until dismissed. */
    notice: string | null;
  };
  /** Applies the session saved for the loaded checkpoint, once per checkpoint; call with the run list loaded. */
  restoreSession(): void;
  /** A different checkpoint is loaded: its own session is read next. */
  forgetRestored(): void;
  dismissSessionNotice(): void;
}

const storage = (): KeyValueStore | null => {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
};

const toCounts = (c: SavedCounts): RoutingCounts => ({ layers: c.layers, experts: c.experts, tokens: c.tokens, counts: Float32Array.from(c.counts) });
const fromCounts = (c: RoutingCounts | null): SavedCounts | null => c && { layers: c.layers, experts: c.experts, tokens: c.tokens, counts: Array.from(c.counts) };
const fitsModel = (c: SavedCounts | null, info: ModelInfo) => !c || (c.experts === info.experts && c.layers.join() === info.moeLayers.join());

function toPane(p: SavedPane | null): PaneState {
  return p ? { ...p, timing: null } : { ids: [], tokens: [], status: 'idle', reason: null, error: null, timing: null };
}

/** A pane as saved: idle ones are not, one still generating is saved as interrupted. */
function fromPane(p: PaneState): SavedPane | null {
  if (p.status === 'idle') return null;
  if (p.status === 'running' || p.status === 'waiting') return { ids: p.ids, tokens: p.tokens, status: 'error', reason: null, error: 'interrupted before it finished (reload or engine stop)' };
  return { ids: p.ids, tokens: p.tokens, status: p.status, reason: p.reason, error: p.error };
}

/** What of the state a session keeps. */
export function sessionOf(s: AppState): SavedSession {
  const im = s.imaging;
  const run = im.runId === null ? undefined : s.probes.runs.find((r) => r.id === im.runId);
  const st = s.steering;
  const ev = s.evaluation;
  return {
    version: 1,
    savedAt: new Date().toISOString(),
    imaging: {
      // A run reported missing stays the saved selection, so the next reload reports it too instead of picking another.
      runId: im.runId ?? im.runMissing?.id ?? null,
      runLabel: run?.setId ?? im.runMissing?.label ?? null,
      span: im.span, method: im.method, target: im.target, show: im.show, rateClass: im.rateClass,
    },
    steering: { mask: st.mask, maskName: st.maskName, maskSource: st.maskSource, topN: st.topN, topNAuto: st.topNAuto, gen: st.gen, liveAuto: st.live.auto },
    compare: {
      baseline: fromPane(s.compare.baseline),
      steered: fromPane(s.compare.steered),
      mask: s.compare.mask,
      maskSource: s.compare.maskSource,
      settings: s.compare.settings,
      routing: { baseline: fromCounts(compareRouting.baseline), steered: fromCounts(compareRouting.steered) },
    },
    evaluation: { file: ev.file, randomControls: ev.randomControls, dose: ev.dose, maxTokens: ev.maxTokens, targetClass: ev.targetClass },
  };
}

export const sessionSlice = ({ set, get }: SliceContext): SessionSlice => ({
  session: { restoredFor: null, notice: null },

  restoreSession() {
    const info = get().model.info;
    if (!info || get().session.restoredFor === info.checkpoint) return;
    const store = storage();
    const read = store && readSession(store, info.checkpoint);
    if (!read || 'problem' in read) {
      set({ session: { restoredFor: info.checkpoint, notice: read ? `The session saved for this model could not be used (${read.problem}); starting afresh.` : null } });
      return;
    }
    const { session } = read;
    const outside = session.steering.mask.entries.find((e) => !info.moeLayers.includes(e.layer) || e.expert >= info.experts);
    const notes: string[] = [];
    if (outside) notes.push(`the saved mask has layer ${outside.layer} · expert ${outside.expert}, which this model does not have; it was not restored`);
    const evalFile = session.evaluation.file;
    const fileGone = evalFile !== null && !get().probes.error && !get().probes.sets.some((x) => x.file === evalFile && !isListingError(x));
    if (fileGone) notes.push(`the probe set evaluated last, ${evalFile}, is no longer listed; pick one in Evaluate`);
    const im = session.imaging;
    const runs = get().probes.runs.filter((r) => r.modelHash === info.checkpoint && r.recorded > 0);
    const runGone = im.runId !== null && !get().probes.runsError && !runs.some((r) => r.id === im.runId);
    const routingFits = fitsModel(session.compare.routing.baseline, info) && fitsModel(session.compare.routing.steered, info);
    // Before the store changes: the routing view reads these when routingVersion moves.
    compareRouting.baseline = routingFits && session.compare.routing.baseline ? toCounts(session.compare.routing.baseline) : null;
    compareRouting.steered = routingFits && session.compare.routing.steered ? toCounts(session.compare.routing.steered) : null;
    set((s) => ({
      session: { restoredFor: info.checkpoint, notice: notes.length ? `Restored your session, except: ${notes.join('; ')}.` : null },
      imaging: {
        ...s.imaging,
        runId: runGone ? null : im.runId,
        runMissing: runGone ? { id: im.runId!, label: im.runLabel } : null,
        span: im.span, method: im.method, target: im.target, show: im.show, rateClass: im.rateClass,
        heatmapKey: null, rankingKey: null, cell: null, hits: null, routingIdx: null,
      },
      steering: {
        ...s.steering,
        ...(outside ? {} : { mask: session.steering.mask, maskName: session.steering.maskName, maskSource: session.steering.maskSource }),
        topN: session.steering.topN,
        topNAuto: session.steering.topNAuto,
        gen: session.steering.gen,
        live: { ...s.steering.live, auto: session.steering.liveAuto },
      },
      compare: {
        ...s.compare,
        baseline: toPane(routingFits ? session.compare.baseline : null),
        steered: toPane(routingFits ? session.compare.steered : null),
        mask: routingFits ? session.compare.mask : null,
        maskSource: routingFits ? session.compare.maskSource : null,
        settings: routingFits ? session.compare.settings : null,
        routingVersion: s.compare.routingVersion + 1,
      },
      evaluation: { ...s.evaluation, ...session.evaluation, ...(fileGone ? { file: null, targetClass: '' } : {}) },
    }));
  },

  forgetRestored: () => set((s) => ({ session: { ...s.session, restoredFor: null } })),

  dismissSessionNotice: () => set((s) => ({ session: { ...s.session, notice: null } })),
});

const SAVE_DELAY_MS = 300;

/**
 * Saves the session of the loaded checkpoint shortly after every change (and when the page goes away), once that
 * checkpoint's saved session has been restored — never the defaults over it. Also remembers the model to reopen.
 */
export function installSessionSaver(store: AppStore): void {
  const out = storage();
  if (!out) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** The last write was refused and the user told so; told again only after a write succeeded. */
  let refused = false;
  const save = () => {
    clearTimeout(timer);
    timer = undefined;
    const s = store.getState();
    const info = s.model.info;
    if (!info || s.session.restoredFor !== info.checkpoint) return;
    const saved = writeSession(out, info.checkpoint, sessionOf(s));
    if (!saved && !refused) {
      refused = true;
      store.setState({ session: { ...s.session, notice: 'Your session could not be saved (the browser refused: storage full or disabled); a reload will not restore it.' } });
    }
    if (saved) refused = false;
  };
  store.subscribe((s, prev) => {
    const info = s.model.info;
    if (info && info !== prev.model.info) writeLastModel(out, { folder: info.demo ? null : info.folder, precision: info.precision, context: info.contextLength });
    if (timer === undefined) timer = setTimeout(save, SAVE_DELAY_MS);
  });
  globalThis.addEventListener?.('pagehide', save);
}

export const lastModel = () => {
  const s = storage();
  return s ? readLastModel(s) : null;
};
