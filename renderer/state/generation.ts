import type { MethodParams } from '../../engine/protocol/methods.ts';
import type { ExpertMask, TokenRouting } from '../../engine/protocol/types.ts';
import type { RoutingCounts } from './datasets.ts';

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
