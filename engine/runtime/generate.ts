import type { ExpertMask } from '../steering/mask.ts';
import { EMPTY_MASK } from '../steering/mask.ts';
import type { ModelRunner, StepRouting } from './model-runner.ts';
import { GREEDY, sampleToken, seededRandom, validateSampling, type SamplingParams } from './sampling.ts';

/** Turns token ids into text incrementally; createStreamDecoder never emits half a UTF-8 character. */
export interface StreamingDetokenizer {
  createStreamDecoder(): { push(id: number): string; flush(): string };
}

export interface GenerateParams {
  maxTokens: number;
  sampling: SamplingParams;
  seed: number;
  mask: ExpertMask;
  /** Token ids that end generation (not emitted as text). */
  eosTokenIds: number[];
  /** Generation ends once the text contains one of these; the text is cut before it. */
  stopStrings: string[];
}

const DEFAULT_GENERATE: GenerateParams = {
  maxTokens: 128, sampling: GREEDY, seed: 0, mask: EMPTY_MASK, eosTokenIds: [], stopStrings: [],
};

export type StopReason = 'eos' | 'stop-string' | 'max-tokens' | 'context' | 'cancelled';

export type GenerationEvent =
  /** The prompt after prefill: its routing covers every prompt token. */
  | { type: 'prompt'; ids: number[]; routing: StepRouting | null }
  /**
   * One generated token and the text it adds (possibly empty); routing is of the step that consumed it (null for the
   * last token, never fed back). The 'done' text may extend the tokens' texts: text held back while it could begin a
   * stop string, and a final partial character.
   */
  | { type: 'token'; index: number; id: number; text: string; routing: StepRouting | null }
  | { type: 'done'; reason: StopReason; ids: number[]; text: string; timing: GenerationTiming };

/** Speed as the caller saw it (the time it spends between events included). */
export interface GenerationTiming {
  /** Milliseconds from the call to the first generated token (prefill included); null if none was generated. */
  firstTokenMs: number | null;
  /** Generated tokens after the first ÷ seconds from the first to the last; null with fewer than two tokens. */
  tokensPerSecond: number | null;
}

/**
 * Prefill, then decode one token at a time. A token's routing (the experts it was sent to) is only known once the
 * model has consumed it, so each 'token' event carries the routing of the following step; the final token's
 * routing is computed too (one extra step) so every emitted token has one.
 */
export async function* generate(runner: ModelRunner, detokenizer: StreamingDetokenizer, promptIds: number[],
  params: Partial<GenerateParams> = {}, signal?: AbortSignal): AsyncGenerator<GenerationEvent> {
  const p = { ...DEFAULT_GENERATE, ...params };
  validateSampling(p.sampling);
  if (!Number.isInteger(p.maxTokens) || p.maxTokens < 0) throw new Error(`max tokens must be a non-negative integer, got ${p.maxTokens}`);
  if (promptIds.length === 0) throw new Error('the prompt is empty');
  const context = runner.spec.contextLength;
  if (promptIds.length > context) {
    throw new Error(`the prompt has ${promptIds.length} tokens, more than the model's context of ${context} tokens`);
  }
  const steering = runner.steering(p.mask);
  const random = seededRandom(p.seed);
  const decoder = detokenizer.createStreamDecoder();
  const eos = new Set(p.eosTokenIds);
  const started = performance.now();
  let firstAt: number | null = null;
  let lastAt = started;

  let { result, cache } = await runner.step(runner.emptyCache(), promptIds, steering, 1);
  yield { type: 'prompt', ids: promptIds, routing: result.routing };

  const generated: number[] = [];
  let full = '';
  let shown = 0;
  let stopAt = -1;
  let reason: StopReason = 'max-tokens';
  while (generated.length < p.maxTokens) {
    if (signal?.aborted) {
      reason = 'cancelled';
      break;
    }
    const id = sampleToken(result.logits.subarray((result.rows - 1) * runner.spec.vocabSize), p.sampling, random);
    if (eos.has(id)) {
      reason = 'eos';
      break;
    }
    generated.push(id);
    const before = full.length;
    full += decoder.push(id);
    stopAt = findStop(full, p.stopStrings, before);
    // Text that could be the start of a stop string is held back until the next tokens tell, so no emitted text is
    // ever part of a stop string that completes later.
    const end = stopAt >= 0 ? stopAt : full.length - stopPrefixLength(full, p.stopStrings);
    const piece = full.slice(shown, end);
    shown = end;
    const atContext = cache.length >= context;
    let routing: StepRouting | null = null;
    if (!atContext) {
      ({ result, cache } = await runner.step(cache, [id], steering, 1));
      routing = result.routing;
    }
    lastAt = performance.now();
    firstAt ??= lastAt;
    yield { type: 'token', index: generated.length - 1, id, text: piece, routing };
    if (stopAt >= 0) {
      reason = 'stop-string';
      break;
    }
    if (atContext) {
      reason = 'context';
      break;
    }
  }
  const text = stopAt >= 0 ? full.slice(0, stopAt) : full + decoder.flush();
  const timing: GenerationTiming = {
    firstTokenMs: firstAt === null ? null : firstAt - started,
    tokensPerSecond: firstAt !== null && generated.length > 1 && lastAt > firstAt ? (generated.length - 1) / ((lastAt - firstAt) / 1000) : null,
  };
  yield { type: 'done', reason, ids: generated, text, timing };
}

/** Length of the longest end of `text` that begins some stop string (and so may yet become one). */
function stopPrefixLength(text: string, stops: string[]): number {
  let longest = 0;
  for (const s of stops) {
    for (let n = Math.min(s.length - 1, text.length); n > longest; n--) {
      if (text.endsWith(s.slice(0, n))) {
        longest = n;
        break;
      }
    }
  }
  return longest;
}

/** Index in `text` where the earliest stop string begins, searching only what could include new text. */
function findStop(text: string, stops: string[], previousLength: number): number {
  let best = -1;
  for (const s of stops) {
    if (!s) continue;
    const at = text.indexOf(s, Math.max(0, previousLength - s.length + 1));
    if (at >= 0 && (best < 0 || at < best)) best = at;
  }
  return best;
}
