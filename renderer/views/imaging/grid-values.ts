import { divergingScale, sequentialScale, type CellValues, type ColorScale } from '../../heatmap/color.ts';
import { heatmaps, rankings, type HeatmapGrids, type RankingGrids } from '../../state/datasets.ts';
import type { ImagingShow, ImagingSlice } from '../../state/slices/imaging-slice.ts';

/** Every map the shared colour range spans (see ImagingSlice sharedKeys); empty for a per-map range. */
export interface SharedMaps {
  heatmaps: HeatmapGrids[];
  rankings: RankingGrids[];
}

export interface GridValues {
  values: CellValues | null;
  scale: ColorScale;
  /** 1 where a cell is dimmed: score cells whose q ≥ alpha; null when nothing is dimmed. */
  dimmed: Uint8Array | null;
}

/**
 * The array, colour scale and dimmed cells a heatmap shows for the chosen metric. With shared maps the range is
 * the largest value (scores: largest |score|) over all of them and the shown map, so maps compare by colour.
 */
export function gridValues(show: ImagingShow, h: HeatmapGrids | undefined, r: RankingGrids | undefined, cls: string | null,
  opts: { shared: SharedMaps | null; alpha: number; dim: boolean }): GridValues {
  const shared = opts.shared;
  if (show === 'score') {
    const values = r?.score ?? null;
    const label = r ? `${r.method === 'mote' ? 'MoTE score: mean share, target − other' : 'risk difference: rate, target − other'} (target ${r.target})` : 'score';
    const maps = shared ? [...shared.rankings.map((x) => x.score), ...(values ? [values] : [])] : [values];
    const scale = divergingScale(maps, `${label}${shared ? ', range shared by all runs' : ''}`);
    return { values, scale, dimmed: r && opts.dim ? dimCells(r.q, opts.alpha) : null };
  }
  const pick = (g: HeatmapGrids | undefined, name: string | null) => {
    const c = g?.classes.find((x) => x.class === name);
    return (show === 'rate' ? c?.rate : c?.mean) ?? null;
  };
  const values = pick(h, cls);
  const maps = shared ? [...shared.heatmaps.flatMap((g) => g.classes.map((c) => (show === 'rate' ? c.rate : c.mean))), ...(values ? [values] : [])] : [values];
  const label = `${show === 'rate' ? 'token activation rate' : 'mean per-prompt share'} (${cls ?? ''})${shared ? ', range shared by all runs and classes' : ''}`;
  return { values, scale: sequentialScale(maps, label), dimmed: null };
}

/** 1 for cells whose q-value is not below alpha (NaN: no test, not dimmed). */
export function dimCells(q: Float64Array, alpha: number): Uint8Array {
  const out = new Uint8Array(q.length);
  for (let i = 0; i < q.length; i++) out[i] = q[i] >= alpha ? 1 : 0;
  return out;
}

/** What Imaging paints for its current settings (the live view and the figure export alike). */
export function imagingGridValues(im: Pick<ImagingSlice['imaging'], 'show' | 'rateClass' | 'scale' | 'sharedKeys' | 'alpha' | 'dim'>, h: HeatmapGrids | undefined, r: RankingGrids | undefined): GridValues {
  const shared = im.scale === 'shared'
    ? { heatmaps: im.sharedKeys.heatmaps.flatMap((k) => heatmaps.get(k) ?? []), rankings: im.sharedKeys.rankings.flatMap((k) => rankings.get(k) ?? []) }
    : null;
  return gridValues(im.show, h, r, im.rateClass, { shared, alpha: im.alpha, dim: im.dim });
}
