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
  /** [layers, experts]: span tokens routed to each expert at each MoE layer of the run, in the run's layer order. */
  hits: Int32Array;
}

/**
 * Counts one prompt's routing per span. `selected` is [T, layers, k] with experts below `experts`; −1 (a dropped
 * slot) is not counted.
 */
export function countSpans(selected: Int16Array, promptTokens: number, layers: number, k: number, experts: number): SpanCount[] {
  const routedTokens = selected.length / (layers * k);
  return SPANS.map((span) => {
    const [start, end] = spanRange(span, promptTokens, routedTokens);
    const hits = new Int32Array(layers * experts);
    for (let t = start; t < end; t++) {
      for (let l = 0; l < layers; l++) {
        const at = (t * layers + l) * k;
        for (let j = 0; j < k; j++) {
          const expert = selected[at + j];
          if (expert >= 0) hits[l * experts + expert]++;
        }
      }
    }
    return { span, tokens: end - start, hits };
  });
}
