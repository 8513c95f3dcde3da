import { moeLayerIndices, type ModelSpec } from '../model/spec.ts';
import { clip, ProblemList } from '../probes/inputs.ts';
import type { ExpertMask } from './mask.ts';

/** Added to router logits to form the selection key: forced experts are taken first, backfill-off ones last. */
export const SELECTION_BIAS = 1e9;
/** Forced experts' bias grows by this per place ahead in mask order, so they take the first slots in that order
 * whatever their logits (|z| ≪ this; float32 still resolves it at 1e9). */
const FORCED_ORDER_STEP = 2 ** 20;

/**
 * A mask laid out for the graph, each [moeLayers × experts], row i = the i-th MoE layer:
 * - bias: ≥ +SELECTION_BIAS for forced experts (more for earlier ones in mask order), −SELECTION_BIAS for off
 *   experts in backfill mode, else 0;
 * - dropped: off experts in drop mode (they keep their place in the ranking but lose their slot);
 * - maxWeight: forced experts in max mode (weighted as if their logit were the row's top + ε).
 */
export interface SteeringTensors {
  bias: Float32Array;
  dropped: Uint8Array;
  maxWeight: Uint8Array;
  /** False when the mask changes nothing: the model then runs unsteered, without the steering graph. */
  active: boolean;
}

/**
 * Checks a mask against the model and lays it out; problems are listed with the entry they come from (the first
 * MAX_LISTED_PROBLEMS, then how many more).
 */
export function steeringTensors(spec: ModelSpec, mask: ExpertMask, source = 'mask'): SteeringTensors {
  const moeLayers = moeLayerIndices(spec);
  const E = spec.numExperts;
  const off = new Uint8Array(moeLayers.length * E);
  const forced = new Uint8Array(moeLayers.length * E);
  /** Per forced expert: its place among its layer's forced experts, in mask order. */
  const forcedRank = new Map<number, number>();
  const forcedPerLayer = new Array<number>(moeLayers.length).fill(0);
  const problems = new ProblemList();
  if (mask.mode !== 'backfill' && mask.mode !== 'drop') problems.add(`mode must be "backfill" or "drop", got ${clip(JSON.stringify(mask.mode) ?? String(mask.mode), 40)}`);
  if (mask.forceWeight !== 'natural' && mask.forceWeight !== 'max') problems.add(`forceWeight must be "natural" or "max", got ${clip(JSON.stringify(mask.forceWeight) ?? String(mask.forceWeight), 40)}`);
  const seen = new Map<string, string>();
  mask.entries.forEach((entry, i) => {
    const where = `entries[${i}] (layer ${entry.layer}, expert ${entry.expert})`;
    const row = moeLayers.indexOf(entry.layer);
    if (!Number.isInteger(entry.layer) || row < 0) {
      problems.add(`${where}: layer ${entry.layer} is not a MoE layer of this model (MoE layers: ${moeLayers.join(', ') || 'none'})`);
      return;
    }
    if (!Number.isInteger(entry.expert) || entry.expert < 0 || entry.expert >= E) {
      problems.add(`${where}: expert must be an integer in 0…${E - 1}`);
      return;
    }
    if (entry.state !== 'off' && entry.state !== 'forced') {
      problems.add(`${where}: state must be "off" or "forced", got ${clip(JSON.stringify(entry.state) ?? String(entry.state), 40)}`);
      return;
    }
    const key = `${entry.layer}:${entry.expert}`;
    if (seen.has(key) && seen.get(key) !== entry.state) problems.add(`${where}: listed as both ${seen.get(key)} and ${entry.state}`);
    seen.set(key, entry.state);
    const at = row * E + entry.expert;
    if (entry.state === 'forced' && !forced[at]) forcedRank.set(at, forcedPerLayer[row]++);
    (entry.state === 'off' ? off : forced)[at] = 1;
  });
  moeLayers.forEach((layer, row) => {
    const count = forced.subarray(row * E, (row + 1) * E).reduce((a, b) => a + b, 0);
    if (count > spec.topK) problems.add(`layer ${layer}: ${count} experts forced, but only ${spec.topK} are selected per token`);
  });
  if (problems.count) throw new Error(`${source} does not fit this model (${spec.modelType}, ${spec.numLayers} layers × ${E} experts, k=${spec.topK}): ${problems.join()}`);
  const drop = mask.mode === 'drop';
  const max = mask.forceWeight === 'max';
  return {
    bias: Float32Array.from(off, (o, i) =>
      forced[i] ? SELECTION_BIAS + (spec.topK - forcedRank.get(i)!) * FORCED_ORDER_STEP : o && !drop ? -SELECTION_BIAS : 0),
    dropped: Uint8Array.from(off, (o) => (o && drop ? 1 : 0)),
    maxWeight: Uint8Array.from(forced, (f) => (f && max ? 1 : 0)),
    active: seen.size > 0,
  };
}
