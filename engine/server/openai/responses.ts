import crypto from 'node:crypto';
import type { StopReason } from '../../runtime/generate.ts';

/** An error as the OpenAI API reports it: `{error: {message, type, param, code}}` with its HTTP status. */
export class OpenAIError extends Error {
  constructor(readonly status: 400 | 401 | 403 | 404 | 405 | 413 | 429 | 500 | 503, message: string, readonly type: string,
    readonly code: string | null = null, readonly param: string | null = null) {
    super(message);
  }

  static badRequest(message: string, param: string | null = null, code: string | null = null): OpenAIError {
    return new OpenAIError(400, message, 'invalid_request_error', code, param);
  }

  static modelNotFound(message: string): OpenAIError {
    return new OpenAIError(404, message, 'invalid_request_error', 'model_not_found', 'model');
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type FinishReason = 'stop' | 'length';

/** OpenAI's finish_reason of a generation that ended: an end-of-sequence token or a stop string is 'stop'. */
export function finishReason(reason: Exclude<StopReason, 'cancelled'>): FinishReason {
  return reason === 'eos' || reason === 'stop-string' ? 'stop' : 'length';
}

export function usage(promptTokens: number, completionTokens: number): Usage {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

/** What every response and chunk of one request shares. */
export interface Completion {
  id: string;
  created: number;
  model: string;
}

export function newCompletion(kind: 'chat' | 'text', model: string): Completion {
  return { id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${crypto.randomBytes(12).toString('hex')}`, created: Math.floor(Date.now() / 1000), model };
}

export function chatCompletion(c: Completion, content: string, finish: FinishReason, use: Usage) {
  return {
    id: c.id, object: 'chat.completion', created: c.created, model: c.model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: finish }],
    usage: use,
  };
}

/** One streamed chat chunk; the last one (usage requested) has no choices and carries the usage. */
export function chatChunk(c: Completion, delta: { role?: 'assistant'; content?: string }, finish: FinishReason | null, withUsage: boolean) {
  return {
    id: c.id, object: 'chat.completion.chunk', created: c.created, model: c.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(withUsage ? { usage: null } : {}),
  };
}

export function chatUsageChunk(c: Completion, use: Usage) {
  return { id: c.id, object: 'chat.completion.chunk', created: c.created, model: c.model, choices: [], usage: use };
}

/** A /v1/completions response, and (with usage null or absent) each of its streamed chunks. */
export function textCompletion(c: Completion, text: string, finish: FinishReason | null, use?: Usage | null) {
  return {
    id: c.id, object: 'text_completion', created: c.created, model: c.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
    ...(use === undefined ? {} : { usage: use }),
  };
}

export function textUsageChunk(c: Completion, use: Usage) {
  return { id: c.id, object: 'text_completion', created: c.created, model: c.model, choices: [], usage: use };
}

/** One server-sent event as OpenAI streams them. */
export function sseData(value: unknown): string {
  return `data: ${typeof value === 'string' ? value : JSON.stringify(value)}\n\n`;
}

export const SSE_DONE = sseData('[DONE]');
