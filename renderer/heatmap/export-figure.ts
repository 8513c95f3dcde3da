import { scaleLinear } from 'd3';
import { colorLut, NO_DATA, type CellValues, type ColorScale } from './color.ts';
import { cellRect, layoutFromCells, tickStep, type GridLayout } from './grid-layout.ts';
import { OFF_MARK, paintGrid, rasterize, type Mark } from './paint.ts';

/** A heatmap as a stand-alone figure: title, labelled axes, colour bar. */
export interface FigureSpec {
  title: string;
  layers: number[];
  experts: number;
  values: CellValues | null;
  scale: ColorScale;
  /** 1 = cell painted faded, as in the live view. */
  dimmed?: Uint8Array | null;
  marks?: ReadonlyMap<number, Mark>;
}

const FONT = 'system-ui, -apple-system, "Segoe UI", sans-serif';
const LEGEND_W = 240;

function figureLayout(spec: FigureSpec): GridLayout {
  const cellW = Math.max(3, Math.min(24, Math.floor(1200 / spec.experts)));
  const cellH = Math.max(6, Math.min(20, Math.floor(720 / spec.layers.length)));
  return layoutFromCells({ top: 40, right: 24, bottom: 96, left: 64 }, cellW, cellH, spec.layers.length, spec.experts, Math.max(LEGEND_W + 120, 64 + cellW * spec.experts + 24));
}

function ticks(g: GridLayout, layers: number[]) {
  const xStep = tickStep(g.cellW, 28);
  const yStep = tickStep(g.cellH, 14, [1, 2, 4, 5, 10, 20]);
  return {
    x: Array.from({ length: Math.ceil(g.cols / xStep) }, (_, i) => ({ at: g.x(i * xStep + 0.5), label: String(i * xStep) })),
    y: Array.from({ length: Math.ceil(g.rows / yStep) }, (_, i) => ({ at: g.y(i * yStep + 0.5), label: String(layers[i * yStep]) })),
  };
}

function legendTicks(scale: ColorScale) {
  const x = scaleLinear().domain(scale.domain).range([0, LEGEND_W]);
  const values = scale.kind === 'diverging' ? [scale.domain[0], 0, scale.domain[1]] : x.ticks(4);
  return values.map((v) => ({ at: x(v), label: v === 0 ? '0' : scale.format(v) }));
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** SVG text: one <rect> per cell (fine for export; the live view paints a canvas). */
export function heatmapSvg(spec: FigureSpec): string {
  const g = figureLayout(spec);
  const lut = colorLut(spec.scale);
  const [d0, d1] = spec.scale.domain;
  const fill = (v: number) => {
    if (Number.isNaN(v)) return `rgb(${NO_DATA.join(',')})`;
    const t = Math.round(Math.min(1, Math.max(0, (v - d0) / (d1 - d0 || 1))) * 255) * 4;
    return `rgb(${lut[t]},${lut[t + 1]},${lut[t + 2]})`;
  };
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${g.width}" height="${g.height}" viewBox="0 0 ${g.width} ${g.height}" font-family='${FONT}' font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${g.margin.left}" y="24" font-size="14" font-weight="600" fill="#1f2328">${esc(spec.title)}</text>`,
    `<g shape-rendering="crispEdges">`,
  ];
  for (let r = 0; r < g.rows; r++) {
    for (let c = 0; c < g.cols; c++) {
      const { x, y, w, h } = cellRect(g, r, c);
      const faded = spec.dimmed?.[r * g.cols + c] ? ' fill-opacity="0.2"' : '';
      out.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="${fill(spec.values ? spec.values[r * g.cols + c] : NaN)}"${faded}/>`);
    }
  }
  for (const [cell, mark] of spec.marks ?? []) {
    const { x, y, w, h } = cellRect(g, Math.floor(cell / g.cols), cell % g.cols);
    if (mark === 'off') {
      const i = Math.min(w, h) * 0.22;
      const cross = `M${x + i} ${y + i}L${x + w - i} ${y + h - i}M${x + w - i} ${y + i}L${x + i} ${y + h - i}`;
      out.push(`<rect x="${x + 1}" y="${y + 1}" width="${w - 2}" height="${h - 2}" fill="none" stroke="${OFF_MARK}" stroke-width="2"/>`,
        `<path d="${cross}" stroke="#ffffff" stroke-width="3.4" shape-rendering="auto"/>`,
        `<path d="${cross}" stroke="${OFF_MARK}" stroke-width="1.4" shape-rendering="auto"/>`);
    } else {
      out.push(`<rect x="${x + 0.5}" y="${y + 0.5}" width="${w - 1}" height="${h - 1}" fill="none" stroke="#ffc21a" stroke-width="2"/>`);
    }
  }
  out.push('</g>');
  const t = ticks(g, spec.layers);
  const axisY = g.y(g.rows);
  out.push(`<g fill="#59636e">`);
  for (const { at, label } of t.x) out.push(`<line x1="${at}" x2="${at}" y1="${axisY}" y2="${axisY + 4}" stroke="#59636e"/><text x="${at}" y="${axisY + 15}" text-anchor="middle">${label}</text>`);
  for (const { at, label } of t.y) out.push(`<line x1="${g.x(0) - 4}" x2="${g.x(0)}" y1="${at}" y2="${at}" stroke="#59636e"/><text x="${g.x(0) - 7}" y="${at + 4}" text-anchor="end">${label}</text>`);
  out.push(`<text x="${g.x(0) + g.plotW / 2}" y="${axisY + 32}" text-anchor="middle">expert</text>`);
  out.push(`<text transform="translate(16,${g.y(0) + g.plotH / 2}) rotate(-90)" text-anchor="middle">layer</text>`);
  const ly = axisY + 48;
  const stops = Array.from({ length: 11 }, (_, i) => `<stop offset="${i / 10}" stop-color="${spec.scale.interpolator(i / 10)}"/>`).join('');
  out.push(`<defs><linearGradient id="legend">${stops}</linearGradient></defs>`);
  out.push(`<text x="${g.margin.left}" y="${ly - 4}">${esc(spec.scale.label)}</text>`);
  out.push(`<rect x="${g.margin.left}" y="${ly}" width="${LEGEND_W}" height="10" fill="url(#legend)"/>`);
  for (const { at, label } of legendTicks(spec.scale)) out.push(`<text x="${g.margin.left + at}" y="${ly + 24}" text-anchor="middle">${esc(label)}</text>`);
  out.push('</g></svg>');
  return out.join('\n');
}

/** PNG at 2× of the same figure, painted with the view's own canvas painter. */
export function heatmapPng(spec: FigureSpec): Promise<Blob> {
  const g = figureLayout(spec);
  const scale = 2;
  const canvas = document.createElement('canvas');
  canvas.width = g.width * scale;
  canvas.height = g.height * scale;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(scale, 0, 0, scale, 0, 0);
  paintGrid(ctx, g, rasterize(spec.values, g.rows, g.cols, colorLut(spec.scale), spec.scale.domain, spec.dimmed), spec.marks);
  ctx.globalCompositeOperation = 'destination-over';
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, g.width, g.height);
  ctx.globalCompositeOperation = 'source-over';
  ctx.fillStyle = '#1f2328';
  ctx.font = `600 14px ${FONT}`;
  ctx.fillText(spec.title, g.margin.left, 24);
  ctx.font = `11px ${FONT}`;
  ctx.fillStyle = '#59636e';
  const t = ticks(g, spec.layers);
  const axisY = g.y(g.rows);
  ctx.textAlign = 'center';
  for (const { at, label } of t.x) {
    ctx.fillRect(at - 0.5, axisY, 1, 4);
    ctx.fillText(label, at, axisY + 15);
  }
  ctx.fillText('expert', g.x(0) + g.plotW / 2, axisY + 32);
  ctx.textAlign = 'right';
  for (const { at, label } of t.y) {
    ctx.fillRect(g.x(0) - 4, at - 0.5, 4, 1);
    ctx.fillText(label, g.x(0) - 7, at + 4);
  }
  ctx.save();
  ctx.translate(16, g.y(0) + g.plotH / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillText('layer', 0, 0);
  ctx.restore();
  const ly = axisY + 48;
  ctx.textAlign = 'left';
  ctx.fillText(spec.scale.label, g.margin.left, ly - 4);
  for (let i = 0; i < LEGEND_W; i++) {
    ctx.fillStyle = spec.scale.interpolator(i / (LEGEND_W - 1));
    ctx.fillRect(g.margin.left + i, ly, 1, 10);
  }
  ctx.fillStyle = '#59636e';
  ctx.textAlign = 'center';
  for (const { at, label } of legendTicks(spec.scale)) ctx.fillText(label, g.margin.left + at, ly + 24);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('heatmap PNG: the canvas could not be encoded'))), 'image/png'));
}
