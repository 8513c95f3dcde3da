import { scaleLinear, type ScaleLinear } from 'd3';

/**
 * Geometry of a layer × expert grid in CSS pixels. x maps expert index (0…cols) and y row index (0…rows) onto the plot
 * area, so hit-testing is floor(x.invert(px)) — no DOM node per cell. Cell widths are whole device pixels so columns
 * paint evenly.
 */
export interface GridLayout {
  width: number;
  height: number;
  margin: { top: number; right: number; bottom: number; left: number };
  plotW: number;
  plotH: number;
  rows: number;
  cols: number;
  cellW: number;
  cellH: number;
  x: ScaleLinear<number, number>;
  y: ScaleLinear<number, number>;
}

const MARGIN = { top: 6, right: 10, bottom: 38, left: 56 };

export function gridLayout(width: number, rows: number, cols: number, dpr: number, maxPlotHeight = 520): GridLayout {
  const avail = Math.max(40, width - MARGIN.left - MARGIN.right);
  const cellDev = Math.floor((avail * dpr) / cols);
  const cellW = Math.min(cellDev >= 1 ? cellDev / dpr : avail / cols, 44);
  const cellH = Math.max(3, Math.min(24, Math.floor(maxPlotHeight / rows)));
  return layoutFromCells(MARGIN, cellW, cellH, rows, cols, width);
}

/** Layout with the given margins and cell size; `width` defaults to exactly what the plot needs. */
export function layoutFromCells(margin: GridLayout['margin'], cellW: number, cellH: number, rows: number, cols: number, width?: number): GridLayout {
  const plotW = cellW * cols;
  const plotH = cellH * rows;
  return {
    width: width ?? margin.left + plotW + margin.right, height: margin.top + plotH + margin.bottom, margin, plotW, plotH, rows, cols, cellW, cellH,
    x: scaleLinear().domain([0, cols]).range([margin.left, margin.left + plotW]),
    y: scaleLinear().domain([0, rows]).range([margin.top, margin.top + plotH]),
  };
}

export function cellAt(g: GridLayout, px: number, py: number): { row: number; col: number } | null {
  const col = Math.floor(g.x.invert(px));
  const row = Math.floor(g.y.invert(py));
  return col >= 0 && col < g.cols && row >= 0 && row < g.rows ? { row, col } : null;
}

export const cellRect = (g: GridLayout, row: number, col: number) => ({ x: g.x(col), y: g.y(row), w: g.cellW, h: g.cellH });

/** Every step-th index gets a tick; step is the smallest from the list that keeps ticks `minGap` px apart. */
export function tickStep(cellSize: number, minGap: number, steps = [1, 2, 4, 8, 16, 32, 64, 128, 256]): number {
  return steps.find((s) => s * cellSize >= minGap) ?? steps[steps.length - 1];
}
