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

/** One map, or several that share one colour range. */
type ScaleValues = CellValues | null | readonly (CellValues | null)[];

const maxOf = (values: ScaleValues, abs: boolean) => {
  let m = 0;
  for (const map of Array.isArray(values) ? values : [values]) {
    if (map) for (const v of map) if (Number.isFinite(v)) m = Math.max(m, abs ? Math.abs(v) : v);
  }
  return m > 0 ? m : 1;
};

/** Viridis from 0 to the largest value (rates, shares). */
export const sequentialScale = (values: ScaleValues, label: string, fmt = format('.0%')): ColorScale => ({
  kind: 'sequential', interpolator: interpolateViridis, domain: [0, maxOf(values, false)], label, format: fmt,
});

/** RdBu reversed (positive red, negative blue), centred at 0, symmetric. */
export const divergingScale = (values: ScaleValues, label: string, fmt = format('+.2~f')): ColorScale => {
  const m = maxOf(values, true);
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
