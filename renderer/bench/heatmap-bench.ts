import { colorLut, sequentialScale } from '../heatmap/color.ts';
import { gridLayout } from '../heatmap/grid-layout.ts';
import { DirtyRects, paintCells, paintMarks, rasterize, type Mark } from '../heatmap/paint.ts';

/**
 * `window.__moteBench.renderHeatmap(rows, cols, frames)` → mean milliseconds per frame of the heatmap view's own
 * paint path, as it runs on a data change: colour look-up into a rows × cols bitmap, putImageData into the CSS-scaled
 * cells canvas, then 10 mask marks (replacing the previous 10) on the full-size marks canvas (1200 CSS px wide, at the
 * page's devicePixelRatio). Two value arrays and two mark sets alternate so every frame is a real change of both; a
 * pixel is read back from each canvas so the draws have happened. The compositor's CSS scaling is the browser's, outside this figure.
 */
export interface MoteBench {
  renderHeatmap(rows: number, cols: number, frames: number): number;
}

declare global {
  interface Window {
    __moteBench?: MoteBench;
  }
}

function renderHeatmap(rows: number, cols: number, frames: number): number {
  const dpr = window.devicePixelRatio || 1;
  const g = gridLayout(1200, rows, cols, dpr);
  const box = document.createElement('div');
  box.style.cssText = `position:fixed;left:0;top:0;width:${g.width}px;height:${g.height}px;`;
  const cells = document.createElement('canvas');
  cells.style.cssText = `position:absolute;left:${g.x(0)}px;top:${g.y(0)}px;width:${g.plotW}px;height:${g.plotH}px;image-rendering:pixelated;`;
  const marksCanvas = document.createElement('canvas');
  marksCanvas.width = Math.round(g.width * dpr);
  marksCanvas.height = Math.round(g.height * dpr);
  marksCanvas.style.cssText = `position:absolute;left:0;top:0;width:${g.width}px;height:${g.height}px;`;
  box.append(cells, marksCanvas);
  document.body.appendChild(box);
  const ctx = marksCanvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const arrays = [0, 1].map(() => Float32Array.from({ length: rows * cols }, () => Math.random()));
  const scale = sequentialScale(arrays[0], 'bench');
  const lut = colorLut(scale);
  const markSets = [1, 2].map((k) => new Map<number, Mark>(Array.from({ length: 10 }, (_, i) => [(i * 7919 * k) % (rows * cols), i % 3 ? 'off' : 'forced'])));
  const dirty = new DirtyRects();
  const frame = (f: number) => {
    paintCells(cells, rasterize(arrays[f % 2], rows, cols, lut, scale.domain));
    paintMarks(ctx, g, markSets[f % 2], dirty);
    cells.getContext('2d')!.getImageData(0, 0, 1, 1);
    ctx.getImageData(0, 0, 1, 1);
  };
  frame(1);
  const t0 = performance.now();
  for (let f = 0; f < frames; f++) frame(f);
  const ms = (performance.now() - t0) / Math.max(1, frames);
  box.remove();
  return ms;
}

export function installBench(): void {
  window.__moteBench = Object.freeze({ renderHeatmap });
}
