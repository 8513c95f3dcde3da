import { clip, ProblemList } from '../probes/inputs.ts';
import { MAX_MASK_ENTRIES } from '../protocol/methods.ts';
import type { MaskEntry } from './mask.ts';
import type { ModelIdentity } from './mask-file.ts';

/** The loaded model as far as masks are concerned. */
export interface MaskTarget {
  identity: ModelIdentity;
  /** Decoder-layer indices of the layers with routed experts; the others are dense. */
  moeLayers: number[];
}

/** A mask entry with where it came from in its file, e.g. `entries[3]` or `layer_configs["5"].expert_ids[0]`. */
export interface LocatedEntry extends MaskEntry {
  where: string;
}

export function describeTarget({ identity: m }: MaskTarget): string {
  return `${m.architecture}, ${m.layers} layers × ${m.experts} experts, k=${m.topK}`;
}

/**
 * Every way the entries do not fit the model, one message each: a layer out of range, a dense layer, an expert out
 * of range, an expert listed both off and forced, more than k experts forced in one layer; more than
 * MAX_MASK_ENTRIES entries is one problem on its own. The list keeps the first MAX_LISTED_PROBLEMS and counts the
 * rest.
 */
export function entryProblems(entries: LocatedEntry[], target: MaskTarget): ProblemList {
  const { layers, experts, topK } = target.identity;
  const problems = new ProblemList();
  if (entries.length > MAX_MASK_ENTRIES) {
    problems.add(`${entries.length.toLocaleString('en')} entries, more than the ${MAX_MASK_ENTRIES.toLocaleString('en')} a mask may hold`);
    return problems;
  }
  const moeLayers = new Set(target.moeLayers);
  const states = new Map<string, MaskEntry['state']>();
  const forcedPerLayer = new Map<number, Set<number>>();
  for (const e of entries) {
    if (!Number.isSafeInteger(e.layer) || e.layer < 0 || !Number.isSafeInteger(e.expert) || e.expert < 0) {
      problems.add(`${e.where}: layer and expert are non-negative integers`);
      continue;
    }
    if (e.state !== 'off' && e.state !== 'forced') {
      problems.add(`${e.where}: state must be "off" or "forced", got ${clip(JSON.stringify(e.state) ?? String(e.state), 40)}`);
      continue;
    }
    if (e.layer >= layers) {
      problems.add(`${e.where}: layer ${e.layer} is out of range (the model has ${layers} layers, 0…${layers - 1})`);
      continue;
    }
    if (!moeLayers.has(e.layer)) {
      problems.add(`${e.where}: layer ${e.layer} is a dense layer without experts (MoE layers: ${clip(target.moeLayers.join(', ') || 'none', 120)})`);
      continue;
    }
    if (e.expert >= experts) {
      problems.add(`${e.where}: expert ${e.expert} is out of range (the model has ${experts} experts per layer, 0…${experts - 1})`);
      continue;
    }
    const key = `${e.layer}:${e.expert}`;
    const seen = states.get(key);
    if (seen && seen !== e.state) problems.add(`${e.where}: layer ${e.layer} expert ${e.expert} is listed both off and forced`);
    states.set(key, e.state);
    if (e.state === 'forced') forcedPerLayer.set(e.layer, (forcedPerLayer.get(e.layer) ?? new Set()).add(e.expert));
  }
  for (const [layer, forced] of [...forcedPerLayer].sort((a, b) => a[0] - b[0])) {
    if (forced.size > topK) problems.add(`layer ${layer}: ${forced.size} experts forced, but the model selects only k=${topK} per token`);
  }
  return problems;
}

/** Throws, naming `source` and the model, when any entry does not fit (the first problems, and how many more). */
export function assertEntriesFit(entries: LocatedEntry[], target: MaskTarget, source: string): void {
  const problems = entryProblems(entries, target);
  if (problems.count) throw new Error(`${source} does not fit the loaded model (${describeTarget(target)}): ${problems.join()}`);
}

/** Entries located in their list (`entries[3]`), for messages. */
export function locate(entries: MaskEntry[], list = 'entries'): LocatedEntry[] {
  return entries.map((e, i) => ({ ...e, where: `${list}[${i}]` }));
}
