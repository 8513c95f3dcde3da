import { divergingScale, sequentialScale, type ColorScale } from '../../heatmap/color.ts';
import type { HeatmapGrids, RankingGrids } from '../../state/datasets.ts';
import type { ImagingShow } from '../../state/slices/imaging-slice.ts';

/** The array and colour scale a heatmap shows for the chosen metric. */
export function gridValues(show: ImagingShow, h: HeatmapGrids | undefined, r: RankingGrids | undefined, cls: string | null): { values: Float32Array | null; scale: ColorScale } {
  if (show === 'score') {
    const values = r?.score ?? null;
    const label = r ? `${r.method === 'mote' ? 'MoTE score: mean share, target − other' : 'risk difference: rate, target − other'} (target ${r.target})` : 'score';
    return { values, scale: divergingScale(values, label) };
  }
  const c = h?.classes.find((x) => x.class === cls);
  const values = (show === 'rate' ? c?.rate : c?.mean) ?? null;
  return { values, scale: sequentialScale(values, `${show === 'rate' ? 'token activation rate' : 'mean per-prompt share'} (${cls ?? ''})`) };
}
