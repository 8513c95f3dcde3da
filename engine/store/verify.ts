/**
 * Checks of what is read back from the store, as problem texts (null = sound): each BLOB against the CRC32 stored
 * beside it, and routing against the run's shape (expert ids in −1 … E−1, lengths that fit T tokens × L layers × k).
 * Shared by the readers in runs.ts, which throw on a problem, and by `mote db check`, which lists them.
 */
import { crc32 } from './crc32.ts';

export interface RunShape {
  moeLayers: number[];
  numExperts: number;
  topK: number;
}

/** The BLOB of `column` and its stored CRC32; both null for an optional BLOB that was not stored. */
export function blobProblem(column: string, blob: Uint8Array | null, crc: number | null): string | null {
  if (blob === null && crc === null) return null;
  if (blob === null) return `BLOB ${column} is missing`;
  if (crc === null) return `BLOB ${column} has no checksum`;
  const actual = crc32(blob);
  if (actual !== crc) return `BLOB ${column} fails its CRC32 check (stored ${hex(crc)}, read ${hex(actual)})`;
  return null;
}

/** A run's shape as stored: an error text when it is not one a run can have. */
export function shapeProblem(shape: RunShape): string | null {
  const { moeLayers, numExperts, topK } = shape;
  if (!Array.isArray(moeLayers) || moeLayers.length === 0 || !moeLayers.every((l) => Number.isInteger(l) && l >= 0)) {
    return `its MoE layers ${JSON.stringify(moeLayers)} are not a list of layer indices`;
  }
  if (!Number.isInteger(numExperts) || numExperts < 1) return `its expert count ${numExperts} is not a positive integer`;
  if (!Number.isInteger(topK) || topK < 1 || topK > numExperts) return `its k ${topK} is outside 1…${numExperts}`;
  return null;
}

/** A prompt's routing against its run's shape; what was not read (token ids, weights, logits) is not checked. */
export function routingProblem(shape: RunShape, r: {
  promptTokens: number; tokenIds?: Int32Array; selected: Int16Array; weights?: Float32Array; routerLogits?: Float32Array | null;
}): string | null {
  const L = shape.moeLayers.length;
  const k = shape.topK;
  const tokens = r.selected.length / (L * k);
  if (!Number.isInteger(tokens)) return `its selected experts hold ${r.selected.length} entries, not a multiple of ${L} layers × k ${k}`;
  if (!Number.isInteger(r.promptTokens) || r.promptTokens < 1 || r.promptTokens > tokens) {
    return `${tokens} routed tokens do not fit ${r.promptTokens} prompt tokens`;
  }
  if (r.tokenIds && tokens > r.tokenIds.length) return `${tokens} routed tokens for ${r.tokenIds.length} token ids`;
  if (r.weights && r.weights.length !== r.selected.length) return `its weights hold ${r.weights.length} entries, its selected experts ${r.selected.length}`;
  if (r.routerLogits && r.routerLogits.length % (tokens * L) !== 0) {
    return `its router logits hold ${r.routerLogits.length} entries, not a multiple of ${tokens} tokens × ${L} layers`;
  }
  const max = shape.numExperts - 1;
  for (let i = 0; i < r.selected.length; i++) {
    const e = r.selected[i];
    if (e < -1 || e > max) {
      const [t, l, j] = [Math.floor(i / (L * k)), Math.floor(i / k) % L, i % k];
      return `expert id ${e} at token ${t}, layer ${shape.moeLayers[l]}, slot ${j} is outside −1…${max}`;
    }
  }
  if (r.tokenIds) for (const id of r.tokenIds) if (id < 0) return `token id ${id} is negative`;
  return null;
}

/** One span_counts row against its run's shape: counts that no recorded routing can add up to. */
export function spanCountsProblem(shape: RunShape, row: { tokens: number; prompts: number; hits: Int32Array; rateSums: Float64Array }): string | null {
  const L = shape.moeLayers.length;
  const E = shape.numExperts;
  const k = shape.topK;
  if (row.hits.length !== L * E) return `its counts hold ${row.hits.length} cells, not ${L} layers × ${E} experts`;
  if (row.rateSums.length !== L * E) return `its rate sums hold ${row.rateSums.length} cells, not ${L} layers × ${E} experts`;
  if (!Number.isInteger(row.tokens) || row.tokens < 0 || !Number.isInteger(row.prompts) || row.prompts < 0 || row.prompts > row.tokens) {
    return `${row.prompts} prompts with ${row.tokens} tokens`;
  }
  for (let l = 0; l < L; l++) {
    let sum = 0;
    for (let e = 0; e < E; e++) {
      const hits = row.hits[l * E + e];
      const rate = row.rateSums[l * E + e];
      if (hits < 0) return `layer ${shape.moeLayers[l]} expert ${e} has ${hits} hits`;
      // A prompt adds at most k / 1 to a cell's rate sum (its span's tokens, k slots each, over its span tokens).
      if (!(rate >= 0 && rate <= row.prompts * k + 1e-6)) return `layer ${shape.moeLayers[l]} expert ${e} has a rate sum of ${rate} over ${row.prompts} prompts`;
      sum += hits;
    }
    if (sum > row.tokens * k) return `layer ${shape.moeLayers[l]} counts ${sum} routed slots for ${row.tokens} tokens × k ${k}`;
  }
  return null;
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
