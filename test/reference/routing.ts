import { MAX_FORCE_EPSILON, type ExpertMask, type ForceWeight, type OffMode } from '../../engine/steering/mask.ts';
import type { ReferenceConfig } from './config.ts';
import { sigmoid, softmax } from './math.ts';

/** Contiguous blocks of numExperts / count experts; selection keeps the `kept` best-scoring groups. */
export interface ExpertGroups {
  count: number;
  kept: number;
}

/** How a family turns router logits z into selected experts and mixing weights (HF transformers). */
export type RouterRule =
  /** Mixtral, Qwen, OLMoE: softmax over all experts → top-k → renormalise over them iff `normalize`. */
  | { kind: 'softmax-top-k'; normalize: boolean }
  /** gpt-oss, Granite-MoE: top-k logits → softmax over those k. */
  | { kind: 'top-k-softmax' }
  /** DeepSeek-V2: p = softmax(z); top-k p, inside the groups of largest max p when grouped; w = p · scaling. */
  | { kind: 'deepseek-v2'; groups: ExpertGroups | null; scaling: number }
  /**
   * DeepSeek-V3 noaux_tc: s = sigmoid(z), selection on b = s + e_score_correction_bias inside the groups with the
   * largest sum of their two best b; w = s, over Σw (+1e-20) iff `normalize`, times scaling.
   */
  | { kind: 'deepseek-v3'; groups: ExpertGroups; normalize: boolean; scaling: number }
  /** PhiMoE's sparsemixer in eval mode, k slots one after the other (see `sparsemixer`). */
  | { kind: 'sparsemixer'; jitterEps: number };

/** One MoE layer's router: the family's rule plus the layer's own DeepSeek-V3 correction bias. */
export interface LayerRouter {
  rule: RouterRule;
  topK: number;
  /** [numExperts] e_score_correction_bias; DeepSeek-V3 only. */
  correctionBias?: Float64Array;
}

/** One MoE layer's part of a mask. */
export interface LayerSteering {
  mode: OffMode;
  forceWeight: ForceWeight;
  off: Set<number>;
  /** In mask order: the order of the first slots (which PhiMoE's slot-by-slot weights depend on). */
  forced: number[];
}

export interface TokenRoute {
  /** Forced experts first (in mask order), then the others best first. */
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
    if (steering.forced.length > config.topK) {
      throw new Error(`layer ${layer} forces ${steering.forced.length} experts but only ${config.topK} run per token`);
    }
  }
  return byLayer;
}

/**
 * The family's routing under steering (DESIGN §5 and the golden-next notes):
 * - forced experts take the first slots, in mask order; the family's own selection fills the k − F others from the
 *   candidates;
 * - backfill: off experts are not candidates, at any step (group scores included);
 * - drop: the selection runs as if nothing were off, then off experts lose their slot unreplaced, and the weights
 *   follow the family's rule over the surviving experts (sparsemixer: its weights before the drop);
 * - forceWeight `max`: the weights see each forced expert's logit raised to the row's top logit + MAX_FORCE_EPSILON;
 *   selection never does.
 * Ranking ties go to the lower expert (or group) index.
 */
export function routeToken(router: LayerRouter, routerLogits: Float64Array, steering?: LayerSteering): TokenRoute {
  const forced = steering?.forced ?? [];
  const off = steering?.off ?? new Set<number>();
  const drop = steering?.mode === 'drop';
  const weightLogits = steering?.forceWeight === 'max' ? raiseForced(routerLogits, forced) : routerLogits;
  const { rule } = router;
  if (rule.kind === 'sparsemixer') {
    const route = sparsemixer(routerLogits, weightLogits, router.topK, forced, drop ? new Set() : off, rule.jitterEps);
    return drop ? withoutExperts(route, off) : route;
  }
  const candidates = [...routerLogits.keys()].filter((e) => !forced.includes(e) && (drop || !off.has(e)));
  const others = chooseFree(router, routerLogits, candidates, router.topK - forced.length);
  const selected = [...forced, ...others].filter((e) => !(drop && off.has(e)));
  return { selected, weights: mixingWeights(rule, weightLogits, selected) };
}

function raiseForced(logits: Float64Array, forced: number[]): Float64Array {
  const raised = Math.max(...logits) + MAX_FORCE_EPSILON;
  return logits.map((z, e) => (forced.includes(e) ? raised : z));
}

/** The best `count` candidates by the rule's selection score, best first. */
function chooseFree(router: LayerRouter, z: Float64Array, candidates: number[], count: number): number[] {
  const { rule } = router;
  switch (rule.kind) {
    case 'softmax-top-k':
    case 'top-k-softmax':
      return best(z, candidates, count);
    case 'deepseek-v2': {
      const p = softmax(z);
      return best(p, rule.groups ? inKeptGroups(p, candidates, rule.groups, Math.max) : candidates, count);
    }
    case 'deepseek-v3': {
      const bias = router.correctionBias;
      if (!bias) throw new Error('DeepSeek-V3 routing needs e_score_correction_bias');
      const b = z.map((logit, e) => sigmoid(logit) + bias[e]);
      return best(b, inKeptGroups(b, candidates, rule.groups, sumOfTopTwo), count);
    }
    case 'sparsemixer':
      throw new Error('sparsemixer selects slot by slot');
  }
}

function mixingWeights(rule: RouterRule, z: Float64Array, selected: number[]): number[] {
  if (selected.length === 0) return [];
  switch (rule.kind) {
    case 'softmax-top-k': {
      const p = softmax(z);
      const weights = selected.map((e) => p[e]);
      const total = weights.reduce((sum, w) => sum + w, 0);
      return rule.normalize && total > 0 ? weights.map((w) => w / total) : weights;
    }
    case 'top-k-softmax':
      return [...softmax(selected.map((e) => z[e]))];
    case 'deepseek-v2': {
      const p = softmax(z);
      return selected.map((e) => p[e] * rule.scaling);
    }
    case 'deepseek-v3': {
      const s = selected.map((e) => sigmoid(z[e]));
      const denominator = rule.normalize ? s.reduce((sum, v) => sum + v, 0) + 1e-20 : 1;
      return s.map((v) => (v / denominator) * rule.scaling);
    }
    case 'sparsemixer':
      throw new Error('sparsemixer weighs slot by slot');
  }
}

function best(scores: ArrayLike<number>, candidates: number[], count: number): number[] {
  return [...candidates].sort((a, b) => scores[b] - scores[a] || a - b).slice(0, count);
}

/**
 * The candidates inside the `kept` groups of best score, a group scoring `groupScore` of its candidates' scores; a
 * group without candidates cannot be kept.
 */
function inKeptGroups(
  scores: Float64Array,
  candidates: number[],
  groups: ExpertGroups,
  groupScore: (...memberScores: number[]) => number,
): number[] {
  const groupOf = (expert: number) => Math.floor(expert / (scores.length / groups.count));
  const groupScores = new Float64Array(groups.count);
  const scored: number[] = [];
  for (let g = 0; g < groups.count; g++) {
    const members = candidates.filter((e) => groupOf(e) === g);
    if (members.length === 0) continue;
    groupScores[g] = groupScore(...members.map((e) => scores[e]));
    scored.push(g);
  }
  const kept = new Set(best(groupScores, scored, groups.kept));
  return candidates.filter((e) => kept.has(groupOf(e)));
}

/** HF's topk(2).sum() over a group; a group left with one candidate scores that one. */
function sumOfTopTwo(...scores: number[]): number {
  const [first, second = 0] = [...scores].sort((a, b) => b - a);
  return first + second;
}

/**
 * PhiMoE's sparsemixer (eval), generalised slot by slot as the golden-next notes define: slot j's expert e is the
 * j-th forced expert, else the best logit left in the pool (experts no earlier slot took, minus `excluded`); its
 * weight is the softmax at e over the pool after leaving out each i with (z_e − z_i) / max(|z_i|, z_e) > 2·eps.
 * HF's two slots are exactly this with nothing forced or excluded. `weightLogits` differ from `z` only at forced
 * experts (forceWeight max).
 */
function sparsemixer(
  z: Float64Array,
  weightLogits: Float64Array,
  topK: number,
  forced: number[],
  excluded: Set<number>,
  jitterEps: number,
): TokenRoute {
  const route: TokenRoute = { selected: [], weights: [] };
  for (let slot = 0; slot < topK; slot++) {
    const pool = [...z.keys()].filter((e) => !route.selected.includes(e) && !excluded.has(e));
    const expert = slot < forced.length ? forced[slot] : best(z, pool, 1)[0];
    if (expert === undefined) break;
    const top = weightLogits[expert];
    const kept = pool.filter((i) => !((top - weightLogits[i]) / Math.max(Math.abs(weightLogits[i]), top) > 2 * jitterEps));
    route.selected.push(expert);
    route.weights.push(1 / kept.reduce((sum, i) => sum + Math.exp(weightLogits[i] - top), 0));
  }
  return route;
}

function withoutExperts(route: TokenRoute, removed: Set<number>): TokenRoute {
  const keep = route.selected.map((e) => !removed.has(e));
  return { selected: route.selected.filter((_, i) => keep[i]), weights: route.weights.filter((_, i) => keep[i]) };
}
