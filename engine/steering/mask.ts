/**
 * Steering semantics (DESIGN §5). Layers are decoder-layer indices, as in HF checkpoints; dense layers have no
 * experts and cannot be masked.
 */
export type ExpertState = 'normal' | 'off' | 'forced';

/** backfill: off experts' slots go to the next-best normal experts. drop: the router's own top-k is kept and
 * off experts simply lose their slot, so fewer than k experts may run. */
export type OffMode = 'backfill' | 'drop';

/** natural: a forced expert is weighted by its own router score. max: at the top score + ε (SteerMoE). */
export type ForceWeight = 'natural' | 'max';

export interface MaskEntry {
  layer: number;
  expert: number;
  state: Exclude<ExpertState, 'normal'>;
}

export interface ExpertMask {
  mode: OffMode;
  forceWeight: ForceWeight;
  entries: MaskEntry[];
}

/** Router logit margin added above the row's top logit for forced experts in `max` mode. */
export const MAX_FORCE_EPSILON = 0.01;

export const EMPTY_MASK: ExpertMask = { mode: 'backfill', forceWeight: 'natural', entries: [] };
