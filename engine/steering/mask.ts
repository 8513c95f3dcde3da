/**
 * Steering semantics (DESIGN §5). Layers are decoder-layer indices, as in HF checkpoints; dense layers have no
 * experts and cannot be masked.
 */
export type { ExpertMask, ExpertState, ForceWeight, MaskEntry, OffMode } from '../protocol/types.ts';
import type { ExpertMask } from '../protocol/types.ts';

/** Router logit margin added above the row's top logit for forced experts in `max` mode. */
export const MAX_FORCE_EPSILON = 0.01;

export const EMPTY_MASK: ExpertMask = { mode: 'backfill', forceWeight: 'natural', entries: [] };
