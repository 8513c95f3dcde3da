import type { ModelSpec } from '../model/spec.ts';
import { clip, InputFileError, ProblemList, readInputFileSync, type InputFileRules } from '../probes/inputs.ts';
import { MAX_MASK_ENTRIES, MAX_MASK_JSON_CHARS } from '../protocol/methods.ts';
import { PRECISIONS, type ExpertMask, type MaskEntry, type ModelIdentity } from '../protocol/types.ts';

export type { ModelIdentity };

/** The engine-independent mask file (DESIGN §5). */
export interface MaskFile {
  format: 'mote-mask';
  version: 1;
  name?: string;
  model: ModelIdentity;
  mode: ExpertMask['mode'];
  forceWeight: ExpertMask['forceWeight'];
  entries: MaskEntry[];
  /**
   * Written by `mote rank --mask-out` when its cut went through experts of equal score: all of them, how many are in
   * `entries`, and the order that listed them. Informational: readers ignore it, and older ones pass it through.
   */
  ties?: MaskTies;
}

export interface MaskTies {
  /** Competition rank the tied experts share. */
  rank: number;
  score: number;
  experts: { layer: number; expert: number }[];
  inMask: number;
  order: string;
}

export function modelIdentity(spec: ModelSpec, checkpoint: string): ModelIdentity {
  return { architecture: spec.modelType, layers: spec.numLayers, experts: spec.numExperts, topK: spec.topK, checkpoint };
}

export function maskFile(mask: ExpertMask, identity: ModelIdentity, name?: string): MaskFile {
  return { format: 'mote-mask', version: 1, ...(name ? { name } : {}), model: identity, mode: mask.mode, forceWeight: mask.forceWeight, entries: mask.entries };
}

/** Largest mask file read from disk (the command line's --mask), the same as mask.import accepts as text. */
export const MAX_MASK_FILE_BYTES = MAX_MASK_JSON_CHARS;
export const MASK_FILE: InputFileRules = { what: 'a mask', extensions: ['.json'], maxBytes: MAX_MASK_FILE_BYTES };

/** Parses mask JSON text (at most MAX_MASK_JSON_CHARS); problems name `source` (see parseMaskValue). */
export function parseMaskFile(text: string, source: string): MaskFile {
  return parseMaskValue(parseMaskJson(text, source), source);
}

/** JSON.parse for mask text, refusing text over MAX_MASK_JSON_CHARS before parsing; errors name `source`. */
export function parseMaskJson(text: string, source: string): unknown {
  if (text.length > MAX_MASK_JSON_CHARS) {
    throw new Error(`${source}: ${text.length.toLocaleString('en')} characters of JSON; a mask may be at most ${MAX_MASK_JSON_CHARS.toLocaleString('en')}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid JSON (${clip((err as Error).message)})`);
  }
}

/**
 * Checks a parsed mask file; problems are reported with their JSON path, prefixed by `source` (usually the file
 * name): the first MAX_LISTED_PROBLEMS, then how many more. A file with more than MAX_MASK_ENTRIES entries is
 * refused on its count, before its entries are looked at.
 */
export function parseMaskValue(value: unknown, source: string): MaskFile {
  const problems = new ProblemList();
  const obj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!obj(value)) throw new Error(`${source}: a mask file is a JSON object`);
  if (value.format !== 'mote-mask') problems.add(`format: expected "mote-mask", got ${describe(value.format)}`);
  if (value.version !== 1) problems.add(`version: expected 1, got ${describe(value.version)}`);
  if (value.name !== undefined && typeof value.name !== 'string') problems.add(`name: expected a string, got ${describe(value.name)}`);
  const model = value.model;
  if (!obj(model)) problems.add('model: missing (architecture, layers, experts, topK, checkpoint)');
  else {
    if (typeof model.architecture !== 'string') problems.add('model.architecture: expected a string');
    for (const key of ['layers', 'experts', 'topK']) {
      if (!Number.isInteger(model[key]) || (model[key] as number) < 1) problems.add(`model.${key}: expected a positive integer`);
    }
    if (typeof model.checkpoint !== 'string') problems.add('model.checkpoint: expected a string');
    if (model.precision !== undefined && !(PRECISIONS as readonly unknown[]).includes(model.precision)) {
      problems.add(`model.precision: expected one of ${PRECISIONS.join(', ')}, got ${describe(model.precision)}`);
    }
  }
  if (value.ties !== undefined) checkTies(value.ties, problems);
  if (value.mode !== 'backfill' && value.mode !== 'drop') problems.add(`mode: expected "backfill" or "drop", got ${describe(value.mode)}`);
  if (value.forceWeight !== 'natural' && value.forceWeight !== 'max') problems.add(`forceWeight: expected "natural" or "max", got ${describe(value.forceWeight)}`);
  if (!Array.isArray(value.entries)) problems.add('entries: expected a list of {layer, expert, state}');
  else if (value.entries.length > MAX_MASK_ENTRIES) {
    problems.add(`entries: ${value.entries.length.toLocaleString('en')} entries, more than the ${MAX_MASK_ENTRIES.toLocaleString('en')} a mask may hold`);
  } else {
    value.entries.forEach((e, i) => {
      if (!obj(e)) return problems.add(`entries[${i}]: expected an object {layer, expert, state}`);
      if (!Number.isSafeInteger(e.layer) || (e.layer as number) < 0) problems.add(`entries[${i}].layer: expected a non-negative integer`);
      if (!Number.isSafeInteger(e.expert) || (e.expert as number) < 0) problems.add(`entries[${i}].expert: expected a non-negative integer`);
      if (e.state !== 'off' && e.state !== 'forced') problems.add(`entries[${i}].state: expected "off" or "forced", got ${describe(e.state)}`);
    });
  }
  if (problems.count) throw new Error(`${source}: ${problems.join()}`);
  // Only the known fields travel on: entries rebuilt, so extra keys in them do not reach requests or exports.
  const entries = (value.entries as MaskEntry[]).map(({ layer, expert, state }) => ({ layer, expert, state }));
  return { ...(value as unknown as MaskFile), entries };
}

function checkTies(ties: unknown, problems: ProblemList): void {
  if (typeof ties !== 'object' || ties === null || Array.isArray(ties)) return problems.add('ties: expected an object {rank, score, experts, inMask, order}');
  const t = ties as Record<string, unknown>;
  if (!Number.isSafeInteger(t.rank) || (t.rank as number) < 1) problems.add('ties.rank: expected a positive integer');
  if (typeof t.score !== 'number') problems.add('ties.score: expected a number');
  if (!Array.isArray(t.experts)) problems.add('ties.experts: expected a list of {layer, expert}');
  else if (t.experts.length > MAX_MASK_ENTRIES) problems.add(`ties.experts: more than ${MAX_MASK_ENTRIES.toLocaleString('en')} entries`);
  if (!Number.isSafeInteger(t.inMask) || (t.inMask as number) < 0) problems.add('ties.inMask: expected a non-negative integer');
  if (typeof t.order !== 'string') problems.add('ties.order: expected a string');
}

/** A value as it appears in a message: JSON, cut short. */
function describe(v: unknown): string {
  return clip(JSON.stringify(v) ?? String(v), 60);
}

/**
 * Reads a mask file for the command line: a regular .json file of at most MAX_MASK_FILE_BYTES (checked on the
 * open file before reading, see engine/probes/inputs.ts), then parseMaskFile.
 */
export function readMaskFile(file: string): MaskFile {
  let text: string;
  try {
    text = readInputFileSync(file, MASK_FILE);
  } catch (err) {
    throw err instanceof InputFileError ? err : new Error(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseMaskFile(text, file);
}

/** Shape problems between a mask file and the loaded model (errors), and a checkpoint mismatch (warning). */
export function checkMaskFits(file: MaskFile, identity: ModelIdentity, source: string): { warnings: string[] } {
  const m = file.model;
  const problems: string[] = [];
  if (m.architecture !== identity.architecture) problems.push(`made for ${clip(m.architecture, 60)}, the model is ${identity.architecture}`);
  if (m.layers !== identity.layers) problems.push(`made for ${m.layers} layers, the model has ${identity.layers}`);
  if (m.experts !== identity.experts) problems.push(`made for ${m.experts} experts per layer, the model has ${identity.experts}`);
  if (m.topK !== identity.topK) problems.push(`made for k=${m.topK}, the model routes each token to ${identity.topK}`);
  if (problems.length) throw new Error(`${source} does not fit the loaded model: ${problems.join('; ')}`);
  const warnings: string[] = [];
  if (m.checkpoint !== identity.checkpoint) warnings.push(`${source} was made for checkpoint ${clip(m.checkpoint, 80)}, the loaded one is ${identity.checkpoint}`);
  // Masks from before precisions were recorded came from float32 runs.
  const madeAt = m.precision ?? 'f32';
  if (identity.precision && madeAt !== identity.precision) warnings.push(`${source} was made at precision ${madeAt}, the model runs at ${identity.precision}`);
  return { warnings };
}

export function toExpertMask(file: MaskFile): ExpertMask {
  return { mode: file.mode, forceWeight: file.forceWeight, entries: file.entries };
}
