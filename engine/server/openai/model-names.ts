import fs from 'node:fs';
import path from 'node:path';
import type { ModelInfo } from '../../protocol/types.ts';
import { EMPTY_MASK, type ExpertMask } from '../../steering/mask.ts';
import { checkMaskFits, readMaskFile, toExpertMask, type MaskFile } from '../../steering/mask-file.ts';
import { assertEntriesFit, locate } from '../../steering/mask-fit.ts';
import { MASK_NAME } from './request-schema.ts';
import { OpenAIError } from './responses.ts';

/**
 * Model names on the endpoint: `MODEL` is the loaded checkpoint unsteered (its folder's name, e.g. `demo`), and
 * `MODEL+NAME` the same model steered by the saved mask `NAME.json` in the masks folder (mote-mask format, checked
 * against the loaded model on every request, so a file saved meanwhile is used at once). An A/B evaluation is two
 * model names.
 */
export const MASK_SEPARATOR = '+';

/** The loaded model's name: its folder's name, with characters other than letters, digits, . _ - replaced. */
export function baseModelName(info: ModelInfo): string {
  return path.basename(info.folder).replace(/[^\p{L}\p{N}._-]+/gu, '-') || 'model';
}

/** A request's model resolved: the mask to steer with (empty for the base name) and where it came from. */
export interface ResolvedModel {
  /** The model name as the response reports it. */
  name: string;
  mask: ExpertMask;
  maskName: string | null;
  maskFile: string | null;
  warnings: string[];
}

export class MaskFolder {
  constructor(readonly dir: string) {}

  /** Names of the saved masks that fit the loaded model, sorted; files that do not are left out (a request names why). */
  usableNames(info: ModelInfo): string[] {
    let files: string[];
    try {
      files = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    return files.filter((f) => f.endsWith('.json') && MASK_NAME.test(f.slice(0, -5))).map((f) => f.slice(0, -5)).filter((name) => {
      try {
        this.load(name, info);
        return true;
      } catch {
        return false;
      }
    }).sort();
  }

  /** The saved mask NAME checked against the loaded model: 404 when there is no such file, 400 naming the problem. */
  load(name: string, info: ModelInfo): { mask: ExpertMask; file: string; warnings: string[] } {
    const file = path.join(this.dir, `${name}.json`);
    if (!MASK_NAME.test(name)) throw OpenAIError.modelNotFound(`${JSON.stringify(name)} is not a mask name (letters, digits, ".", "_" and "-")`);
    if (!fs.existsSync(file)) throw OpenAIError.modelNotFound(`no saved mask ${JSON.stringify(name)}: ${file} does not exist (masks folder: ${this.dir})`);
    try {
      const parsed = readMaskFile(file);
      const { warnings } = checkMaskFits(parsed, info.identity, file);
      assertEntriesFit(locate(parsed.entries), { identity: info.identity, moeLayers: info.moeLayers }, file);
      return { mask: toExpertMask(parsed), file, warnings };
    } catch (err) {
      throw OpenAIError.badRequest((err as Error).message, 'model', 'invalid_mask');
    }
  }

  /** Writes a mask as NAME.json (through a temporary file, so a reader never sees half of it); answers its model name. */
  save(name: string, mask: MaskFile, info: ModelInfo): { file: string; model: string } {
    if (!MASK_NAME.test(name)) throw new Error(`${JSON.stringify(name)} is not a mask name (letters, digits, ".", "_" and "-")`);
    fs.mkdirSync(this.dir, { recursive: true });
    const file = path.join(this.dir, `${name}.json`);
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, `${JSON.stringify(mask, null, 2)}\n`);
    fs.renameSync(temporary, file);
    return { file, model: `${baseModelName(info)}${MASK_SEPARATOR}${name}` };
  }

  /**
   * Resolves `model` (and the `mote_mask` extension field) against the loaded model. Unknown names are a 404 that
   * lists the names there are; a mask named both ways must be the same mask.
   */
  resolve(model: string, maskField: string | null | undefined, info: ModelInfo): ResolvedModel {
    const base = baseModelName(info);
    const at = model.indexOf(MASK_SEPARATOR);
    const [requestedBase, suffix] = at < 0 ? [model, null] : [model.slice(0, at), model.slice(at + 1)];
    if (requestedBase !== base) {
      const known = [base, ...this.usableNames(info).map((n) => `${base}${MASK_SEPARATOR}${n}`)];
      throw OpenAIError.modelNotFound(`the model ${JSON.stringify(model)} does not exist: this server has ${known.map((n) => JSON.stringify(n)).join(', ')}`);
    }
    if (suffix !== null && maskField && suffix !== maskField) {
      throw OpenAIError.badRequest(`model ${JSON.stringify(model)} names mask ${JSON.stringify(suffix)} but mote_mask names ${JSON.stringify(maskField)}`, 'mote_mask');
    }
    const maskName = suffix ?? maskField ?? null;
    if (maskName === null) return { name: base, mask: EMPTY_MASK, maskName: null, maskFile: null, warnings: [] };
    const { mask, file, warnings } = this.load(maskName, info);
    return { name: `${base}${MASK_SEPARATOR}${maskName}`, mask, maskName, maskFile: file, warnings };
  }
}
