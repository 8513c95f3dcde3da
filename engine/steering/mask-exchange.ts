import { fromEasySteer, toEasySteer } from './easysteer.ts';
import { fromSteerMoE, toSteerMoE } from './steermoe.ts';
import type { ExpertMask } from './mask.ts';
import { clip } from '../probes/inputs.ts';
import { checkMaskFits, maskFile, parseMaskJson, parseMaskValue, toExpertMask, type MaskTies } from './mask-file.ts';
import { assertEntriesFit, locate, type MaskTarget } from './mask-fit.ts';

export const MASK_FORMATS = ['mote', 'easysteer', 'steermoe'] as const;
export type MaskFormat = typeof MASK_FORMATS[number];

export interface ImportedMask {
  mask: ExpertMask;
  name: string | null;
  warnings: string[];
}

/**
 * Reads mask JSON in any format (ours, with its model identity; EasySteer's layer_configs; SteerMoE's
 * moe_manual_weights matrix) and checks it
 * against the loaded model; errors name `source` and say exactly what does not fit: the first problems and how
 * many more, so the message stays a few kilobytes whatever the input. Text over MAX_MASK_JSON_CHARS and masks of
 * more than MAX_MASK_ENTRIES entries are refused on their size.
 */
export function importMask(text: string, source: string, target: MaskTarget): ImportedMask {
  source = clip(source, 256);
  const value = parseMaskJson(text, source);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${source}: a mask is a JSON object`);
  const object = value as Record<string, unknown>;
  if ('moe_manual_weights' in object) {
    const { mask, entries } = fromSteerMoE(object, source, target);
    assertEntriesFit(entries, target, source);
    return { mask, name: null, warnings: [`${source} is a SteerMoE matrix, which names no model: only its shape, layers and k were checked`] };
  }
  if ('format' in object || 'entries' in object) {
    const file = parseMaskValue(object, source);
    const { warnings } = checkMaskFits(file, target.identity, source);
    assertEntriesFit(locate(file.entries), target, source);
    return { mask: toExpertMask(file), name: file.name === undefined ? null : clip(file.name, 256), warnings };
  }
  if ('layer_configs' in object) {
    const { mask, entries, warnings } = fromEasySteer(object, source);
    assertEntriesFit(entries, target, source);
    return { mask, name: null, warnings: [...warnings, `${source} is an EasySteer config, which names no model: only layers, experts and k were checked`] };
  }
  throw new Error(`${source}: neither a MoTE mask ("format": "mote-mask"), an EasySteer moe_router config ("layer_configs") nor a SteerMoE matrix ("moe_manual_weights")`);
}

/** The mask as file text in `format`, after checking it fits the loaded model. */
export function exportMask(mask: ExpertMask, format: MaskFormat, target: MaskTarget, name?: string, ties?: MaskTies): { json: string; fileName: string } {
  assertEntriesFit(locate(mask.entries), target, 'the mask');
  const base = fileStem(name ?? 'mask');
  if (format === 'mote') {
    const file = maskFile(mask, target.identity, name);
    if (ties) file.ties = ties;
    return { json: JSON.stringify(file, null, 2) + '\n', fileName: `${base}.mote-mask.json` };
  }
  if (format === 'steermoe') return { json: toSteerMoE(mask, target), fileName: `${base}.steermoe.json` };
  return { json: JSON.stringify(toEasySteer(mask), null, 2) + '\n', fileName: `${base}.easysteer.json` };
}

/** A name turned into a safe file stem: letters, digits, dot, dash and underscore. */
export function fileStem(name: string): string {
  return name.trim().replace(/[^\p{L}\p{N}._-]+/gu, '-').replace(/^[-.]+|-+$/g, '').slice(0, 80) || 'mask';
}
