import type { ExpertMask, ExpertState, MaskEntry } from '../../engine/protocol/types.ts';

export const emptyMask = (from?: ExpertMask): ExpertMask => ({ mode: from?.mode ?? 'backfill', forceWeight: from?.forceWeight ?? 'natural', entries: [] });

export const stateOf = (mask: ExpertMask, layer: number, expert: number): ExpertState =>
  mask.entries.find((e) => e.layer === layer && e.expert === expert)?.state ?? 'normal';

/**
 * normal → off → forced → normal. Entries keep their order (evaluation's dose-response takes prefixes of it), a new
 * entry goes last. Forcing more than k experts in a layer is an engine error, so that step skips back to normal.
 */
export function cycleExpert(mask: ExpertMask, layer: number, expert: number, topK: number): { mask: ExpertMask; notice: string | null } {
  const state = stateOf(mask, layer, expert);
  const others = mask.entries.filter((e) => !(e.layer === layer && e.expert === expert));
  const at = mask.entries.findIndex((e) => e.layer === layer && e.expert === expert);
  const put = (entry: MaskEntry): MaskEntry[] => (at < 0 ? [...others, entry] : [...others.slice(0, at), entry, ...others.slice(at)]);
  if (state === 'normal') return { mask: { ...mask, entries: put({ layer, expert, state: 'off' }) }, notice: null };
  if (state === 'forced') return { mask: { ...mask, entries: others }, notice: null };
  const forcedInLayer = others.filter((e) => e.layer === layer && e.state === 'forced').length;
  if (forcedInLayer >= topK) {
    return { mask: { ...mask, entries: others }, notice: `Layer ${layer} already has ${topK} forced experts (k = ${topK}): expert ${expert} went back to normal.` };
  }
  return { mask: { ...mask, entries: put({ layer, expert, state: 'forced' }) }, notice: null };
}

/** The first n ranked experts switched off, in rank order; mode and weighting kept. */
export const topNOff = (mask: ExpertMask, ranked: { layer: number; expert: number }[], n: number): ExpertMask => ({
  ...mask,
  entries: ranked.slice(0, n).map(({ layer, expert }) => ({ layer, expert, state: 'off' })),
});

/** Cell index (row × experts + expert) → state, for painting. */
export function maskMarks(mask: ExpertMask, layers: number[], experts: number): Map<number, 'off' | 'forced'> {
  const rowOf = new Map(layers.map((layer, row) => [layer, row]));
  const marks = new Map<number, 'off' | 'forced'>();
  for (const e of mask.entries) {
    const row = rowOf.get(e.layer);
    if (row !== undefined && e.expert < experts) marks.set(row * experts + e.expert, e.state);
  }
  return marks;
}

/**
 * Sets one expert's state in one step (normal removes it). Forcing more than k experts in a layer is an engine
 * error, so that is refused with a notice and the mask left as it was.
 */
export function setExpertState(mask: ExpertMask, layer: number, expert: number, state: ExpertState, topK: number): { mask: ExpertMask; notice: string | null } {
  const others = mask.entries.filter((e) => !(e.layer === layer && e.expert === expert));
  if (state === 'normal') return { mask: { ...mask, entries: others }, notice: null };
  if (state === 'forced' && others.filter((e) => e.layer === layer && e.state === 'forced').length >= topK) {
    return { mask, notice: `Layer ${layer} already has ${topK} forced experts (k = ${topK}): expert ${expert} was not forced.` };
  }
  const at = mask.entries.findIndex((e) => e.layer === layer && e.expert === expert);
  const entry: MaskEntry = { layer, expert, state };
  return { mask: { ...mask, entries: at < 0 ? [...others, entry] : [...others.slice(0, at), entry, ...others.slice(at)] }, notice: null };
}

/**
 * The first n ranked experts forced on, in rank order, at most k per layer (more is an engine error): experts past
 * a layer's k are skipped and counted in the notice. Mode and weighting kept.
 */
export function topNForced(mask: ExpertMask, ranked: { layer: number; expert: number }[], n: number, topK: number): { mask: ExpertMask; notice: string | null } {
  const perLayer = new Map<number, number>();
  const entries: MaskEntry[] = [];
  const skipped = new Set<number>();
  for (const { layer, expert } of ranked.slice(0, n)) {
    const count = perLayer.get(layer) ?? 0;
    if (count >= topK) {
      skipped.add(layer);
      continue;
    }
    perLayer.set(layer, count + 1);
    entries.push({ layer, expert, state: 'forced' });
  }
  const notice = skipped.size
    ? `Forced ${entries.length} of the top ${Math.min(n, ranked.length)}: at most k = ${topK} experts can be forced per layer (layer${skipped.size > 1 ? 's' : ''} ${[...skipped].sort((a, b) => a - b).join(', ')} had more).`
    : null;
  return { mask: { ...mask, entries }, notice };
}
