import type { ExpertMask } from '../../engine/protocol/types.ts';

export interface SavedMask {
  name: string;
  savedAt: string;
  /** ModelIdentity.checkpoint of the model it was made on. */
  checkpoint: string;
  mask: ExpertMask;
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
