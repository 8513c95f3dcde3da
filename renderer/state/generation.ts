import type { MethodParams } from '../../engine/protocol/methods.ts';
import type { ExpertMask, TokenRouting } from '../../engine/protocol/types.ts';
import type { EngineEvent } from '../host/engine-client.ts';
import type { GenerationTrace, RoutingCounts } from './datasets.ts';

/** Prompt and sampling settings shared by live regeneration and Compare. */
export interface GenSettings {
  prompt: string;
  chat: boolean;
  maxTokens: number;
  seed: number;
  temperature: number;
}

export const generateParams = (g: GenSettings, mask: ExpertMask): MethodParams<'generate'> => ({ ...g, mask, topK: 0, topP: 1 });

/** Adds one generated token's routing to per-cell counts (dropped slots, −1, are skipped). */
export function countRouting(counts: RoutingCounts, routing: TokenRouting[] | null): void {
  counts.tokens++;
  if (!routing) return;
  for (const r of routing) {
    const row = counts.layers.indexOf(r.layer);
    if (row < 0) continue;
    for (const e of r.experts) if (e >= 0 && e < counts.experts) counts.counts[row * counts.experts + e]++;
  }
}

/** Adds a generate event (the prompt, or one token) to a trace; false for other events. */
export function traceEvent(trace: GenerationTrace, e: EngineEvent): boolean {
  if (e.name === 'generate.prompt') {
    trace.prompt = e.data;
  } else if (e.name === 'generate.token') {
    trace.ids.push(e.data.id);
    trace.tokens.push(e.data.text);
    trace.routing.push(e.data.routing);
  } else {
    return false;
  }
  return true;
}
