export const SPANS = ['prompt', 'response', 'last'] as const;

/** prompt: every prompt token; response: generated or teacher-forced tokens; last: the last prompt token. */
export type Span = (typeof SPANS)[number];

/** Token positions [start, end) of a span in a prompt with `routedTokens` routed tokens, prompt tokens first. */
export function spanRange(span: Span, promptTokens: number, routedTokens: number): [number, number] {
  if (span === 'prompt') return [0, promptTokens];
  if (span === 'response') return [promptTokens, routedTokens];
  return [promptTokens - 1, promptTokens];
}

export interface SpanCount {
  span: Span;
  tokens: number;
  /** hits[l] maps expert → span tokens routed to it at the l-th MoE layer of the run. */
  hits: Map<number, number>[];
}

/** Counts one prompt's routing per span. `selected` is [T, layers, k]; −1 (a dropped slot) is not counted. */
export function countSpans(selected: Int16Array, promptTokens: number, layers: number, k: number): SpanCount[] {
  const routedTokens = selected.length / (layers * k);
  return SPANS.map((span) => {
    const [start, end] = spanRange(span, promptTokens, routedTokens);
    const hits = Array.from({ length: layers }, () => new Map<number, number>());
    for (let t = start; t < end; t++) {
      for (let l = 0; l < layers; l++) {
        const at = (t * layers + l) * k;
        for (let j = 0; j < k; j++) {
          const expert = selected[at + j];
          if (expert >= 0) hits[l].set(expert, (hits[l].get(expert) ?? 0) + 1);
        }
      }
    }
    return { span, tokens: end - start, hits };
  });
}
