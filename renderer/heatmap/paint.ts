import { NO_DATA, type CellValues } from './color.ts';
import { cellRect, type GridLayout } from './grid-layout.ts';

/** Colour of an off mark's outline and ×. */
export const OFF_MARK = '#16171b';

export type Mark = 'off' | 'forced';

/** How far a dimmed cell's colour is pulled toward DIM_TOWARD: it stays readable, but faint. */
const DIM_AMOUNT = 0.8;
const DIM_TOWARD = 246;

/**
 * One RGBA pixel per cell. values: [rows × cols] row-major; NaN or a missing array → NO_DATA grey. Cells with
 * dimmed[i] = 1 are faded toward a light grey (not significant at the chosen level).
 */
export function rasterize(values: CellValues | null, rows: number, cols: number, lut: Uint8ClampedArray, domain: [number, number],
  dimmed: Uint8Array | null = null): ImageData {
  const image = new ImageData(cols, rows);
  const px = image.data;
  const ok = values !== null && values.length === rows * cols;
  const [d0, d1] = domain;
  const span = d1 - d0 || 1;
  for (let i = 0; i < rows * cols; i++) {
    const v = ok ? values[i] : NaN;
    const o = i * 4;
    if (Number.isNaN(v)) {
      px[o] = NO_DATA[0];
      px[o + 1] = NO_DATA[1];
      px[o + 2] = NO_DATA[2];
    } else {
      const t = Math.round(Math.min(1, Math.max(0, (v - d0) / span)) * 255) * 4;
      px[o] = lut[t];
      px[o + 1] = lut[t + 1];
      px[o + 2] = lut[t + 2];
      if (dimmed?.[i]) for (let c = 0; c < 3; c++) px[o + c] += (DIM_TOWARD - px[o + c]) * DIM_AMOUNT;
    }
    px[o + 3] = 255;
  }
  return image;
}

/**
 * The live view's cells: the bitmap stays cols × rows pixels and CSS scales it onto the plot area
 * (image-rendering: pixelated, whole device pixels per cell), so a repaint is one putImageData of rows × cols
 * pixels, whatever the canvas's size on screen.
 */
export function paintCells(canvas: HTMLCanvasElement, image: ImageData): void {
  if (canvas.width !== image.width || canvas.height !== image.height) {
    canvas.width = image.width;
    canvas.height = image.height;
  }
  canvas.getContext('2d')!.putImageData(image, 0, 0);
}

/**
 * What was drawn last on a layer, so the next paint clears only that: clearing a whole 2400 × 1100 device-pixel
 * canvas costs ~3 ms in software raster (headless Chromium), too much for every hover move on a 58 × 256 grid.
 * Reset it whenever the canvas is resized (which clears it anyway).
 */
export class DirtyRects {
  private rects: [number, number, number, number][] = [];

  add(x: number, y: number, w: number, h: number): void {
    this.rects.push([x - 3, y - 3, w + 6, h + 6]);
  }

  clear(ctx: CanvasRenderingContext2D): void {
    for (const [x, y, w, h] of this.rects) ctx.clearRect(x, y, w, h);
    this.rects = [];
  }

  reset(): void {
    this.rects = [];
  }
}

/** Cells big enough to need separating lines (the live view draws them with CSS, the export on its canvas). */
export const hasSeparators = (g: GridLayout) => g.cellW >= 10 && g.cellH >= 10;

/** Mask marks on their own layer, clearing only what the previous marks covered; `ctx` scaled by devicePixelRatio. */
export function paintMarks(ctx: CanvasRenderingContext2D, g: GridLayout, marks: ReadonlyMap<number, Mark> | undefined, dirty: DirtyRects): void {
  dirty.clear(ctx);
  for (const [cell, mark] of marks ?? []) {
    const { x, y, w, h } = cellRect(g, Math.floor(cell / g.cols), cell % g.cols);
    dirty.add(x, y, w, h);
    paintMark(ctx, mark, x, y, w, h);
  }
}

/** Cells, separators and marks into one context (figure export). */
export function paintGrid(ctx: CanvasRenderingContext2D, g: GridLayout, image: ImageData, marks?: ReadonlyMap<number, Mark>): void {
  const bitmap = document.createElement('canvas');
  paintCells(bitmap, image);
  ctx.clearRect(0, 0, g.width, g.height);
  if (hasSeparators(g)) paintSeparators(ctx, g);
  paintMarks(ctx, g, marks, new DirtyRects());
  ctx.save();
  ctx.globalCompositeOperation = 'destination-over';
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(bitmap, g.x(0), g.y(0), g.plotW, g.plotH);
  ctx.restore();
}

function paintSeparators(ctx: CanvasRenderingContext2D, g: GridLayout): void {
  ctx.strokeStyle = 'rgba(255,255,255,0.55)';
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let c = 1; c < g.cols; c++) {
    ctx.moveTo(g.x(c), g.y(0));
    ctx.lineTo(g.x(c), g.y(g.rows));
  }
  for (let r = 1; r < g.rows; r++) {
    ctx.moveTo(g.x(0), g.y(r));
    ctx.lineTo(g.x(g.cols), g.y(r));
  }
  ctx.stroke();
}

/**
 * Marks leave the cell's colour visible (a masked expert's own change matters, e.g. in Compare): off = dark outline
 * and a dark × on a light halo; forced = amber outline inside a dark one. Both read on any background colour.
 */
function paintMark(ctx: CanvasRenderingContext2D, mark: Mark, x: number, y: number, w: number, h: number): void {
  if (mark === 'off') {
    ctx.lineWidth = 2;
    ctx.strokeStyle = OFF_MARK;
    ctx.strokeRect(x + 1, y + 1, Math.max(0, w - 2), Math.max(0, h - 2));
    if (Math.min(w, h) < 6) return;
    const i = Math.min(w, h) * 0.22;
    const width = Math.min(w, h) >= 14 ? 2 : 1.4;
    for (const [color, extra] of [['#ffffff', 2], [OFF_MARK, 0]] as const) {
      ctx.strokeStyle = color;
      ctx.lineWidth = width + extra;
      ctx.beginPath();
      ctx.moveTo(x + i, y + i);
      ctx.lineTo(x + w - i, y + h - i);
      ctx.moveTo(x + w - i, y + i);
      ctx.lineTo(x + i, y + h - i);
      ctx.stroke();
    }
    return;
  }
  ctx.lineWidth = 3;
  ctx.strokeStyle = '#16171b';
  ctx.strokeRect(x - 0.5, y - 0.5, w + 1, h + 1);
  ctx.lineWidth = 2;
  ctx.strokeStyle = '#ffc21a';
  ctx.strokeRect(x + 0.5, y + 0.5, Math.max(0, w - 1), Math.max(0, h - 1));
}

/** Hover and selection outlines on the overlay canvas (the cells canvas is not touched on hover). */
export function paintOverlay(
  ctx: CanvasRenderingContext2D, g: GridLayout, hover: { row: number; col: number } | null, selected: { row: number; col: number } | null, dirty: DirtyRects,
): void {
  dirty.clear(ctx);
  if (hover) {
    ctx.fillStyle = 'rgba(20, 24, 31, 0.07)';
    ctx.fillRect(g.x(0), g.y(hover.row), g.plotW, g.cellH);
    ctx.fillRect(g.x(hover.col), g.y(0), g.cellW, g.plotH);
    dirty.add(g.x(0), g.y(hover.row), g.plotW, g.cellH);
    dirty.add(g.x(hover.col), g.y(0), g.cellW, g.plotH);
  }
  for (const [cell, color] of [[selected, '#2456d6'], [hover, '#14181f']] as const) {
    if (!cell) continue;
    const { x, y, w, h } = cellRect(g, cell.row, cell.col);
    dirty.add(x - 2, y - 2, w + 4, h + 4);
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#fff';
    ctx.strokeRect(x - 2, y - 2, w + 4, h + 4);
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = color;
    ctx.strokeRect(x - 1, y - 1, w + 2, h + 2);
  }
}
