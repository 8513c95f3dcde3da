import { cellRect, type GridLayout } from './grid-layout.ts';

interface Entry {
  element: HTMLElement;
  layout: GridLayout;
  layers: number[];
}

/** Mounted grids by test id, so tests can find a cell's screen position (see test-hooks.ts). */
const grids = new Map<string, Entry>();

export function registerGrid(testId: string, entry: Entry): () => void {
  grids.set(testId, entry);
  return () => {
    if (grids.get(testId) === entry) grids.delete(testId);
  };
}

/** Viewport coordinates of the centre of cell (layer, expert) in the grid `testId`, or null if not shown. */
export function cellCenter(testId: string, layer: number, expert: number): { x: number; y: number } | null {
  const g = grids.get(testId);
  const row = g?.layers.indexOf(layer) ?? -1;
  if (!g || row < 0 || expert >= g.layout.cols) return null;
  const box = g.element.getBoundingClientRect();
  const r = cellRect(g.layout, row, expert);
  return { x: box.left + r.x + r.w / 2, y: box.top + r.y + r.h / 2 };
}
