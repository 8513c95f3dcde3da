import { MAX_FORCE_EPSILON, type ExpertMask, type ForceWeight, type OffMode } from '../../engine/steering/mask.ts';
import type { ReferenceConfig } from './config.ts';
import { softmax } from './math.ts';

/** One MoE layer's part of a mask. */
export interface LayerSteering {
  mode: OffMode;
  forceWeight: ForceWeight;
  off: Set<number>;
  /** Ascending expert indices. */
  forced: number[];
}

export interface TokenRoute {
  /** Forced experts first (ascending), then the others best first. */
  selected: number[];
  /** Mixing weight of each selected expert. */
  weights: number[];
}

/** Splits a mask by MoE layer; entries on dense layers, unknown experts or with two states are input errors. */
export function steeringByLayer(
  mask: ExpertMask | undefined,
  config: Pick<ReferenceConfig, 'moeLayers' | 'numExperts' | 'topK'>,
): Map<number, LayerSteering> {
  const byLayer = new Map<number, LayerSteering>();
  if (!mask) return byLayer;
  for (const entry of mask.entries) {
    if (!config.moeLayers.includes(entry.layer)) throw new Error(`mask entry on layer ${entry.layer}, not a MoE layer`);
    if (!(entry.expert >= 0 && entry.expert < config.numExperts)) {
      throw new Error(`mask entry for expert ${entry.expert} of ${config.numExperts}`);
    }
    let layer = byLayer.get(entry.layer);
    if (!layer) {
      layer = { mode: mask.mode, forceWeight: mask.forceWeight, off: new Set(), forced: [] };
      byLayer.set(entry.layer, layer);
    }
    if (layer.off.has(entry.expert) || layer.forced.includes(entry.expert)) {
      throw new Error(`mask names layer ${entry.layer} expert ${entry.expert} twice`);
    }
    if (entry.state === 'off') layer.off.add(entry.expert);
    else layer.forced.push(entry.expert);
  }
  for (const [layer, steering] of byLayer) {
    steering.forced.sort((a, b) => a - b);
    if (steering.forced.length > config.topK) {
      throw new Error(`layer ${layer} forces ${steering.forced.length} experts but only ${config.topK} run per token`);
    }
  }
  return byLayer;
}

/**
 * Softmax → top-k → optional renormalisation, under steering (DESIGN §5):
 * - backfill: the k − F free slots go to the best experts that are neither off nor forced;
 * - drop: the router's own top-k minus the forced ones, cut to k − F, then off experts lose their slot unreplaced;
 * - weights are softmax(router logits) at the selected experts, renormalised over them if `normalize`; with
 *   forceWeight `max` the forced experts' logits are first raised to the row's top logit + MAX_FORCE_EPSILON.
 * Ranking is by logit, ties to the lower expert index.
 */
export function routeToken(
  routerLogits: Float64Array,
  topK: number,
  normalize: boolean,
  steering: LayerSteering | undefined,
): TokenRoute {
  const forced = steering?.forced ?? [];
  const off = steering?.off ?? new Set<number>();
  const ranked = [...routerLogits.keys()].sort((a, b) => routerLogits[b] - routerLogits[a] || a - b);
  const free = topK - forced.length;
  const others = steering?.mode === 'drop'
    ? ranked.slice(0, topK).filter((e) => !forced.includes(e)).slice(0, free).filter((e) => !off.has(e))
    : ranked.filter((e) => !forced.includes(e) && !off.has(e)).slice(0, free);
  const selected = [...forced, ...others];

  let weightLogits = routerLogits;
  if (steering?.forceWeight === 'max' && forced.length > 0) {
    const raised = Math.max(...routerLogits) + MAX_FORCE_EPSILON;
    weightLogits = routerLogits.map((logit, e) => (forced.includes(e) ? raised : logit));
  }
  const scores = softmax(weightLogits);
  const weights = selected.map((e) => scores[e]);
  const total = weights.reduce((sum, w) => sum + w, 0);
  return { selected, weights: normalize && total > 0 ? weights.map((w) => w / total) : weights };
}
