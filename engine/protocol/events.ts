import type { RunStatus, TokenRouting } from './types.ts';

/** Events the engine pushes; `id` is the request that started the job (absent for engine-wide events). */
export interface EngineEvents {
  'build.progress': { done: number; total: number };
  'probe.progress': { runId: number; done: number; total: number; prompt?: { index: number; class: string; label: string | null; tokens: number } };
  'probe.finished': { runId: number; status: RunStatus };
  'generate.token': { index: number; id: number; text: string; routing: TokenRouting[] | null };
  /** Sent once, before the first 'generate.token': the prompt's tokens (each decoded alone) and their routing. */
  'generate.prompt': { ids: number[]; tokens: string[]; routing: TokenRouting[][] | null };
  'evaluate.progress': { done: number; total: number; condition: string };
  /** Engine-wide: a model was opened outside the renderer (the desktop app's File menu). */
  'model.opened': { folder: string; checkpoint: string };
}

export type EventName = keyof EngineEvents;
