import { color as d3color, format, interpolateRdBu, interpolateViridis } from 'd3';

/** How values map to colour: a d3 interpolator over [domain[0], domain[1]]; diverging domains are symmetric about 0. */
export interface ColorScale {
  kind: 'sequential' | 'diverging';
  interpolator: (t: number) => string;
  domain: [number, number];
  label: string;
  format: (v: number) => string;
}

/** A heatmap's values, [rows × experts] row-major (float64 where it carries statistics shown as numbers too). */
export type CellValues = Float32Array | Float64Array;

/** The largest finite value (abs: largest |value|) of a map, 0 when it has none. */
export function largestValue(values: CellValues | null, abs: boolean): number {
  let m = 0;
  if (values) for (const v of values) if (Number.isFinite(v)) m = Math.max(m, abs ? Math.abs(v) : v);
  return m;
}

/** Viridis from 0 to the largest value (rates, shares), or to `atLeast` when that is larger (a shared range). */
export const sequentialScale = (values: CellValues | null, label: string, fmt = format('.0%'), atLeast = 0): ColorScale => ({
  kind: 'sequential', interpolator: interpolateViridis, domain: [0, Math.max(largestValue(values, false), atLeast) || 1], label, format: fmt,
});

/** RdBu reversed (positive red, negative blue), centred at 0, symmetric; ± the largest |value| or `atLeast`. */
export const divergingScale = (values: CellValues | null, label: string, fmt = format('+.2~f'), atLeast = 0): ColorScale => {
  const m = Math.max(largestValue(values, true), atLeast) || 1;
  return { kind: 'diverging', interpolator: (t) => interpolateRdBu(1 - t), domain: [-m, m], label, format: fmt };
};

/** 256 RGBA entries sampled from the interpolator, so painting a cell is a table look-up. */
export function colorLut(scale: ColorScale): Uint8ClampedArray {
  const lut = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) {
    const c = d3color(scale.interpolator(i / 255))!.rgb();
    lut.set([c.r, c.g, c.b, 255], i * 4);
  }
  return lut;
}

/** Colour of cells without a value (NaN). */
export const NO_DATA: [number, number, number] = [226, 228, 232];
