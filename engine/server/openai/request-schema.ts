import { z } from 'zod';
import { MASK_NAME_PATTERN } from '../../protocol/methods.ts';
import { OpenAIError } from './responses.ts';

/**
 * The OpenAI request bodies the endpoint accepts (https://platform.openai.com/docs/api-reference/chat/create and
 * /completions/create). Features it cannot honour (several choices, logprobs, tools, penalties, logit bias, echo) are
 * refused with a 400 naming the parameter rather than silently ignored; parameters it does not know are ignored, as
 * clients and evaluation tools send vendor extras.
 */

/** A saved mask's name: the file `NAME.json` in the masks folder. */
export const MASK_NAME = MASK_NAME_PATTERN;

/** A parameter the endpoint cannot honour: accepted absent, null or at its neutral value. */
const neutral = (what: string, value: unknown) => z.unknown()
  .refine((v) => v === undefined || v === null || JSON.stringify(v) === JSON.stringify(value), `${what} is not supported by MoTE Studio's endpoint`)
  .optional();

const sampling = {
  model: z.string().min(1).max(400),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  /** Extension (as vLLM and llama.cpp's server): sample from the k most likely tokens; 0 = all. */
  top_k: z.number().int().min(0).nullish(),
  seed: z.number().int().refine(Number.isSafeInteger, 'expected a safe integer').nullish(),
  /** OpenAI takes up to 4; evaluation harnesses often send more (lm-evaluation-harness's `until`). */
  stop: z.union([z.string().min(1).max(400), z.array(z.string().min(1).max(400)).max(16)]).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  /** Extension: the name of a saved mask to steer with (same as `MODEL+NAME`). */
  mote_mask: z.string().regex(MASK_NAME, 'expected a mask name: letters, digits, ".", "_" and "-"').nullish(),
  user: z.string().nullish(),
  n: neutral('n other than 1 (one choice per request)', 1),
  logprobs: neutral('logprobs', false),
  top_logprobs: neutral('top_logprobs', 0),
  logit_bias: neutral('logit_bias', {}),
  frequency_penalty: neutral('frequency_penalty other than 0', 0),
  presence_penalty: neutral('presence_penalty other than 0', 0),
};

const textPart = z.object({ type: z.literal('text'), text: z.string() });

const message = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant'], 'expected system, developer, user or assistant (tool messages are not supported)'),
  content: z.union([z.string(), z.array(textPart).min(1)], 'expected a string or a list of {type: "text", text} parts'),
  name: z.string().optional(),
});

export const chatRequestSchema = z.object({
  ...sampling,
  messages: z.array(message).min(1).max(10_000),
  max_completion_tokens: z.number().int().min(1).nullish(),
  tools: neutral('tools', []),
  functions: neutral('functions', []),
  response_format: neutral('response_format other than text', { type: 'text' }),
});

const tokenIds = z.array(z.number().int().min(0)).min(1);
export const completionRequestSchema = z.object({
  ...sampling,
  prompt: z.union([
    z.string().min(1),
    z.array(z.string().min(1)).length(1, 'one prompt per request'),
    tokenIds,
    z.array(tokenIds).length(1, 'one prompt per request'),
  ], 'expected a non-empty string or token ids (one prompt per request)'),
  echo: neutral('echo', false),
  best_of: neutral('best_of other than 1', 1),
  suffix: neutral('suffix', ''),
});

export type ChatRequest = z.infer<typeof chatRequestSchema>;
export type CompletionRequest = z.infer<typeof completionRequestSchema>;

/** Parses a request body; the first problem becomes a 400 naming its parameter. */
export function parseRequest<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw OpenAIError.badRequest('the request body must be a JSON object');
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = issue.path.map(String).join('.');
  const more = parsed.error.issues.length - 1;
  throw OpenAIError.badRequest(`${param || 'body'}: ${issue.message}${more > 0 ? ` (and ${more} more problem${more === 1 ? '' : 's'})` : ''}`, param || null);
}

/** The text of a message's content: a string, or its text parts joined. */
export function messageText(content: z.infer<typeof message>['content']): string {
  return typeof content === 'string' ? content : content.map((part) => part.text).join('');
}
