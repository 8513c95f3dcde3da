import { fromEasySteer, toEasySteer } from './easysteer.ts';
import type { ExpertMask } from './mask.ts';
import { clip } from '../probes/inputs.ts';
import { checkMaskFits, maskFile, parseMaskJson, parseMaskValue, toExpertMask } from './mask-file.ts';
import { assertEntriesFit, locate, type MaskTarget } from './mask-fit.ts';

export type MaskFormat = 'mote' | 'easysteer';

export interface ImportedMask {
  mask: ExpertMask;
  name: string | null;
  warnings: string[];
}

/**
 * Reads mask JSON in either format (ours, with its model identity, or EasySteer's layer_configs) and checks it
 * against the loaded model; errors name `source` and say exactly what does not fit: the first problems and how
 * many more, so the message stays a few kilobytes whatever the input. Text over MAX_MASK_JSON_CHARS and masks of
 * more than MAX_MASK_ENTRIES entries are refused on their size.
 */
export function importMask(text: string, source: string, target: MaskTarget): ImportedMask {
  source = clip(source, 256);
  const value = parseMaskJson(text, source);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${source}: a mask is a JSON object`);
  const object = value as Record<string, unknown>;
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
  throw new Error(`${source}: neither a MoTE mask ("format": "mote-mask") nor an EasySteer moe_router config ("layer_configs")`);
}

/** The mask as file text in `format`, after checking it fits the loaded model. */
export function exportMask(mask: ExpertMask, format: MaskFormat, target: MaskTarget, name?: string): { json: string; fileName: string } {
  assertEntriesFit(locate(mask.entries), target, 'the mask');
  const base = fileStem(name ?? 'mask');
  if (format === 'mote') {
    return { json: JSON.stringify(maskFile(mask, target.identity, name), null, 2) + '\n', fileName: `${base}.mote-mask.json` };
  }
  return { json: JSON.stringify(toEasySteer(mask), null, 2) + '\n', fileName: `${base}.easysteer.json` };
}

/** A name turned into a safe file stem: letters, digits, dot, dash and underscore. */
export function fileStem(name: string): string {
  return name.trim().replace(/[^\p{L}\p{N}._-]+/gu, '-').replace(/^[-.]+|-+$/g, '').slice(0, 80) || 'mask';
}
