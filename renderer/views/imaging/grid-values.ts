import { divergingScale, sequentialScale, type CellValues, type ColorScale } from '../../heatmap/color.ts';
import type { HeatmapGrids, RankingGrids } from '../../state/datasets.ts';
import type { ImagingShow, ImagingSlice, SharedRange } from '../../state/slices/imaging-slice.ts';

export interface GridValues {
  values: CellValues | null;
  scale: ColorScale;
  /** 1 where a cell is dimmed: score cells whose q ≥ alpha; null when nothing is dimmed. */
  dimmed: Uint8Array | null;
}

/**
 * The array, colour scale and dimmed cells a heatmap shows for the chosen metric. With a shared range the scale
 * reaches the largest value of every run's map of this metric (scores: largest |score|), so maps compare by colour.
 */
export function gridValues(show: ImagingShow, h: HeatmapGrids | undefined, r: RankingGrids | undefined, cls: string | null,
  opts: { shared: SharedRange | null; alpha: number; dim: boolean }): GridValues {
  const shared = opts.shared;
  if (show === 'score') {
    const values = r?.score ?? null;
    const label = r ? `${r.method === 'mote' ? 'MoTE score: mean share, target − other' : 'risk difference: rate, target − other'} (target ${r.target})` : 'score';
    const scale = divergingScale(values, `${label}${shared ? ', range shared by all runs' : ''}`, undefined, shared?.score);
    return { values, scale, dimmed: r && opts.dim ? dimCells(r.q, opts.alpha) : null };
  }
  const c = h?.classes.find((x) => x.class === cls);
  const values = (show === 'rate' ? c?.rate : c?.mean) ?? null;
  const label = `${show === 'rate' ? 'token activation rate' : 'mean per-prompt share'} (${cls ?? ''})${shared ? ', range shared by all runs and classes' : ''}`;
  return { values, scale: sequentialScale(values, label, undefined, shared?.[show]), dimmed: null };
}

/** 1 for cells whose q-value is not below alpha (NaN: no test, not dimmed). */
export function dimCells(q: Float64Array, alpha: number): Uint8Array {
  const out = new Uint8Array(q.length);
  for (let i = 0; i < q.length; i++) out[i] = q[i] >= alpha ? 1 : 0;
  return out;
}

/** What Imaging paints for its current settings (the live view and the figure export alike). */
export function imagingGridValues(im: Pick<ImagingSlice['imaging'], 'show' | 'rateClass' | 'scale' | 'sharedRange' | 'alpha' | 'dim'>,
  h: HeatmapGrids | undefined, r: RankingGrids | undefined): GridValues {
  return gridValues(im.show, h, r, im.rateClass, { shared: im.scale === 'shared' ? im.sharedRange : null, alpha: im.alpha, dim: im.dim });
}
