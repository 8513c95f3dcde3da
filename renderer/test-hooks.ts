import type { ExpertMask } from '../engine/protocol/types.ts';
import { cellCenter } from './heatmap/grid-registry.ts';
import { topRanked } from './state/selectors.ts';
import type { AppStore } from './state/store.ts';

/**
 * Read-only hooks for end-to-end tests, on `window.__moteTest`:
 * - topRanked(n): the n best experts of the ranking Imaging shows (run, span, target, method), best first;
 * - currentMask(): a copy of the current mask (entries in order);
 * - cellCenter(gridTestId, layer, expert): viewport {x, y} of a cell in a mounted heatmap ('heatmap',
 *   'steer-heatmap', 'routing-diff'), for page.mouse.click; null when that grid or cell is not shown.
 */
export interface MoteTestHooks {
  topRanked(n: number): { layer: number; expert: number }[];
  currentMask(): ExpertMask;
  cellCenter(gridTestId: string, layer: number, expert: number): { x: number; y: number } | null;
}

declare global {
  interface Window {
    __moteTest?: MoteTestHooks;
  }
}

export function installTestHooks(store: AppStore): void {
  window.__moteTest = Object.freeze({
    topRanked: (n: number) => topRanked(store.getState(), n),
    currentMask: () => structuredClone(store.getState().steering.mask),
    cellCenter,
  });
}
