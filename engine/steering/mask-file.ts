import fs from 'node:fs';
import type { ModelSpec } from '../model/spec.ts';
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
}

export function modelIdentity(spec: ModelSpec, checkpoint: string): ModelIdentity {
  return { architecture: spec.modelType, layers: spec.numLayers, experts: spec.numExperts, topK: spec.topK, checkpoint };
}

export function maskFile(mask: ExpertMask, identity: ModelIdentity, name?: string): MaskFile {
  return { format: 'mote-mask', version: 1, ...(name ? { name } : {}), model: identity, mode: mask.mode, forceWeight: mask.forceWeight, entries: mask.entries };
}

/** Parses mask JSON; problems are reported with their JSON path, prefixed by `source` (usually the file name). */
export function parseMaskFile(text: string, source: string): MaskFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid JSON (${(err as Error).message})`);
  }
  const problems: string[] = [];
  const obj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!obj(value)) throw new Error(`${source}: a mask file is a JSON object`);
  if (value.format !== 'mote-mask') problems.push(`format: expected "mote-mask", got ${JSON.stringify(value.format)}`);
  if (value.version !== 1) problems.push(`version: expected 1, got ${JSON.stringify(value.version)}`);
  const model = value.model;
  if (!obj(model)) problems.push('model: missing (architecture, layers, experts, topK, checkpoint)');
  else {
    if (typeof model.architecture !== 'string') problems.push('model.architecture: expected a string');
    for (const key of ['layers', 'experts', 'topK']) {
      if (!Number.isInteger(model[key])) problems.push(`model.${key}: expected an integer`);
    }
    if (typeof model.checkpoint !== 'string') problems.push('model.checkpoint: expected a string');
    if (model.precision !== undefined && !(PRECISIONS as readonly unknown[]).includes(model.precision)) {
      problems.push(`model.precision: expected one of ${PRECISIONS.join(', ')}, got ${JSON.stringify(model.precision)}`);
    }
  }
  if (value.mode !== 'backfill' && value.mode !== 'drop') problems.push(`mode: expected "backfill" or "drop", got ${JSON.stringify(value.mode)}`);
  if (value.forceWeight !== 'natural' && value.forceWeight !== 'max') problems.push(`forceWeight: expected "natural" or "max", got ${JSON.stringify(value.forceWeight)}`);
  if (!Array.isArray(value.entries)) problems.push('entries: expected a list of {layer, expert, state}');
  else {
    value.entries.forEach((e, i) => {
      if (!obj(e)) return problems.push(`entries[${i}]: expected an object {layer, expert, state}`);
      if (!Number.isInteger(e.layer) || (e.layer as number) < 0) problems.push(`entries[${i}].layer: expected a non-negative integer`);
      if (!Number.isInteger(e.expert) || (e.expert as number) < 0) problems.push(`entries[${i}].expert: expected a non-negative integer`);
      if (e.state !== 'off' && e.state !== 'forced') problems.push(`entries[${i}].state: expected "off" or "forced", got ${JSON.stringify(e.state)}`);
    });
  }
  if (problems.length) throw new Error(`${source}: ${problems.join('; ')}`);
  return value as unknown as MaskFile;
}

export function readMaskFile(file: string): MaskFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseMaskFile(text, file);
}

/** Shape problems between a mask file and the loaded model (errors), and a checkpoint mismatch (warning). */
export function checkMaskFits(file: MaskFile, identity: ModelIdentity, source: string): { warnings: string[] } {
  const m = file.model;
  const problems: string[] = [];
  if (m.architecture !== identity.architecture) problems.push(`made for ${m.architecture}, the model is ${identity.architecture}`);
  if (m.layers !== identity.layers) problems.push(`made for ${m.layers} layers, the model has ${identity.layers}`);
  if (m.experts !== identity.experts) problems.push(`made for ${m.experts} experts per layer, the model has ${identity.experts}`);
  if (m.topK !== identity.topK) problems.push(`made for k=${m.topK}, the model routes each token to ${identity.topK}`);
  if (problems.length) throw new Error(`${source} does not fit the loaded model: ${problems.join('; ')}`);
  const warnings: string[] = [];
  if (m.checkpoint !== identity.checkpoint) warnings.push(`${source} was made for checkpoint ${m.checkpoint}, the loaded one is ${identity.checkpoint}`);
  // Masks from before precisions were recorded came from float32 runs.
  const madeAt = m.precision ?? 'f32';
  if (identity.precision && madeAt !== identity.precision) warnings.push(`${source} was made at precision ${madeAt}, the model runs at ${identity.precision}`);
  return { warnings };
}

export function toExpertMask(file: MaskFile): ExpertMask {
  return { mode: file.mode, forceWeight: file.forceWeight, entries: file.entries };
}
