import type { ExpertMask } from '../../engine/protocol/types.ts';
import type { MaskSource } from './session.ts';

export interface SavedMask {
  name: string;
  savedAt: string;
  /** ModelIdentity.checkpoint of the model it was made on. */
  checkpoint: string;
  mask: ExpertMask;
  /** The ranking it was built from (absent in masks saved before sources were kept). */
  source?: MaskSource | null;
}

const KEY = 'mote-studio.masks.v1';

export function readSavedMasks(): SavedMask[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return Array.isArray(parsed) ? (parsed as SavedMask[]) : [];
  } catch {
    return [];
  }
}

export function writeSavedMasks(masks: SavedMask[]): void {
  localStorage.setItem(KEY, JSON.stringify(masks));
}
