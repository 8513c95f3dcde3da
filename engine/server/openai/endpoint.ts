import crypto from 'node:crypto';
import type http from 'node:http';
import type { LoadedModel } from '../../host/engine-host.ts';
import { HostError } from '../../host/host-error.ts';
import type { TextTokenizer } from '../../model/tokenizer.ts';
import type { ModelInfo } from '../../protocol/types.ts';
import { generate, type GenerationEvent } from '../../runtime/generate.ts';
import type { ModelRunner } from '../../runtime/model-runner.ts';
import { MaskFolder, MASK_SEPARATOR, baseModelName, type ResolvedModel } from './model-names.ts';
import { RequestQueue } from './request-queue.ts';
import { chatRequestSchema, completionRequestSchema, messageText, parseRequest, type ChatRequest, type CompletionRequest } from './request-schema.ts';
import {
  chatChunk, chatCompletion, chatUsageChunk, finishReason, newCompletion, OpenAIError, sseData, SSE_DONE, textCompletion, textUsageChunk, usage,
  type Completion,
} from './responses.ts';

/** What the endpoint needs of the engine (EngineHost provides it). */
export interface ModelAccess {
  /** The loaded model, null before one is open. */
  currentModel(): ModelInfo | null;
  /** Runs `task` on the loaded model, in turn with every other job that drives it; rejects when `signal` aborts first. */
  runOnModel<T>(signal: AbortSignal, task: (model: LoadedModel) => Promise<T>): Promise<T>;
}

export interface OpenAIEndpointOptions {
  engine: ModelAccess;
  /** Folder of saved masks, NAME.json each, served as the model names MODEL+NAME. */
  masksDir: string;
  /** Requests that may wait while one runs; past it a 429. */
  maxWaiting: number;
  log?: (line: string) => void;
}

/** Default of `maxWaiting`: enough for an evaluation harness's usual concurrency, small enough to refuse a flood. */
export const DEFAULT_MAX_WAITING = 32;
/** Largest request body: a long conversation fits many times over. */
const MAX_BODY_BYTES = 8 * 2 ** 20;
const HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' };

type Kind = 'chat' | 'text';

/**
 * The OpenAI-compatible API (`/v1/models`, `/v1/chat/completions`, `/v1/completions`, streamed as server-sent events or
 * not) on the loaded model, steered per request by a saved mask named in the model name. Authentication is the
 * server's (serve.ts); this handles requests that passed it. Switched on and off at run time (`enabled`).
 */
export class OpenAIEndpoint {
  enabled = true;
  readonly masks: MaskFolder;
  readonly queue: RequestQueue;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly log: (line: string) => void;
  /** Mask warnings already logged: an evaluation sends many requests with one mask. */
  private readonly warned = new Set<string>();

  constructor(private readonly options: OpenAIEndpointOptions) {
    this.masks = new MaskFolder(options.masksDir);
    this.queue = new RequestQueue(options.maxWaiting);
    this.log = options.log ?? (() => undefined);
  }

  /** Handles one request under /v1; every failure is answered as an OpenAI error. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.route(req, res).catch((err: unknown) => this.fail(res, err));
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname.replace(/\/+$/, '');
    const modelPath = /^\/v1\/models\/(.+)$/.exec(pathname);
    const allow = (method: string) => {
      if (req.method !== method) throw new OpenAIError(405, `${pathname} takes ${method} requests, not ${req.method}`, 'invalid_request_error', 'method_not_allowed');
    };
    if (pathname === '/v1/models') {
      allow('GET');
      return sendJson(res, 200, { object: 'list', data: this.modelNames().map((id) => this.modelObject(id)) });
    }
    if (modelPath) {
      allow('GET');
      const id = decodeURIComponent(modelPath[1]);
      const info = this.requireModel(id);
      return sendJson(res, 200, this.modelObject(this.masks.resolve(id, null, info).name));
    }
    if (pathname === '/v1/chat/completions' || pathname === '/v1/completions') {
      allow('POST');
      const body = await readJsonBody(req);
      return pathname === '/v1/chat/completions'
        ? this.complete('chat', parseRequest(chatRequestSchema, body), res)
        : this.complete('text', parseRequest(completionRequestSchema, body), res);
    }
    throw new OpenAIError(404, `no endpoint ${req.method} ${pathname}: this server has GET /v1/models, POST /v1/chat/completions and POST /v1/completions`,
      'invalid_request_error', 'unknown_url');
  }

  /** The model names served: the loaded model, then it with each saved mask that fits it. */
  modelNames(): string[] {
    const info = this.options.engine.currentModel();
    if (!info) return [];
    const base = baseModelName(info);
    return [base, ...this.masks.usableNames(info).map((name) => `${base}${MASK_SEPARATOR}${name}`)];
  }

  private modelObject(id: string) {
    return { id, object: 'model', created: this.created, owned_by: 'mote-studio' };
  }

  private requireModel(requested: string): ModelInfo {
    const info = this.options.engine.currentModel();
    if (!info) throw OpenAIError.modelNotFound(`the model ${JSON.stringify(requested)} does not exist: no model is loaded (open one in the app, or start \`mote serve --model DIR\`)`);
    return info;
  }

  private async complete(kind: Kind, request: ChatRequest | CompletionRequest, res: http.ServerResponse): Promise<void> {
    const info = this.requireModel(request.model);
    const target = this.masks.resolve(request.model, request.mote_mask, info);
    for (const warning of target.warnings) {
      if (!this.warned.has(warning)) this.log(`warning: ${warning}`);
      this.warned.add(warning);
    }
    const release = this.queue.admit();
    if (!release) {
      const n = this.queue.size;
      throw new OpenAIError(429, `the engine is busy: ${n} ${n === 1 ? 'request is' : 'requests are'} running or waiting, as many as this server admits `
        + `(one running, --openai-queue ${this.queue.maxWaiting} waiting); retry later`,
        'requests', 'rate_limit_exceeded');
    }
    // A client that goes away cancels its request, waiting or running.
    const controller = new AbortController();
    res.once('close', () => controller.abort());
    try {
      await this.options.engine.runOnModel(controller.signal, async (model) => {
        if (model.info !== info) throw new OpenAIError(503, 'the loaded model changed while the request waited; send it again', 'server_error', 'model_changed');
        await this.run(kind, request, target, model, controller.signal, res);
      });
    } finally {
      release();
    }
  }

  private async run(kind: Kind, request: ChatRequest | CompletionRequest, target: ResolvedModel,
    { runner, tokenizer }: LoadedModel, signal: AbortSignal, res: http.ServerResponse): Promise<void> {
    const chat = kind === 'chat' ? request as ChatRequest : null;
    const promptIds = chat ? chatPromptIds(chat, tokenizer, target.name) : completionPromptIds(request as CompletionRequest, tokenizer, runner);
    const context = runner.spec.contextLength;
    if (promptIds.length > context) {
      throw OpenAIError.badRequest(`the prompt has ${promptIds.length} tokens, more than the model's context of ${context} tokens`,
        chat ? 'messages' : 'prompt', 'context_length_exceeded');
    }
    const stop = request.stop == null ? [] : typeof request.stop === 'string' ? [request.stop] : request.stop;
    const events = generate(runner, tokenizer, promptIds, {
      maxTokens: chat?.max_completion_tokens ?? request.max_tokens ?? context - promptIds.length,
      seed: request.seed ?? crypto.randomInt(2 ** 31),
      sampling: { temperature: request.temperature ?? 1, topP: request.top_p ?? 1, topK: request.top_k ?? 0 },
      mask: target.mask,
      eosTokenIds: tokenizer.eosTokenIds,
      stopStrings: stop,
    }, signal);
    const completion = newCompletion(kind, target.name);
    if (request.stream) await streamCompletion(kind, completion, events, promptIds.length, request.stream_options?.include_usage === true, res);
    else await sendCompletion(kind, completion, events, promptIds.length, res);
  }

  private fail(res: http.ServerResponse, err: unknown): void {
    const error = err instanceof OpenAIError ? err
      : err instanceof HostError && err.code === 'no-model' ? OpenAIError.modelNotFound(`no model is loaded: ${err.message}`)
        : new OpenAIError(500, err instanceof Error ? err.message : String(err), 'server_error', 'internal_error');
    if (error.status === 500) this.log(`OpenAI endpoint: ${error.message}`);
    if (res.destroyed) return;
    // Mid-stream: the error as one more event, then the stream ends.
    if (res.headersSent) res.end(sseData(error.body()));
    else sendJson(res, error.status, error.body(), error.status === 429 ? { 'Retry-After': '1' } : {});
  }
}

/** Refuses a request before it reaches the endpoint (its body unread), as the OpenAI API does. */
export function sendOpenAIError(req: http.IncomingMessage, res: http.ServerResponse, error: OpenAIError): void {
  req.resume();
  sendJson(res, error.status, error.body());
}

function chatPromptIds(request: ChatRequest, tokenizer: TextTokenizer, model: string): number[] {
  if (!tokenizer.hasChatTemplate) throw OpenAIError.badRequest(`${model} has no chat template: use /v1/completions`, 'messages', 'no_chat_template');
  const messages = request.messages.map((m) => ({ role: m.role === 'developer' ? 'system' : m.role, content: messageText(m.content) }));
  let text: string;
  try {
    text = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
  } catch (err) {
    throw OpenAIError.badRequest(`the chat template refused these messages: ${(err as Error).message}`, 'messages');
  }
  return nonEmpty(tokenizer.encode(text, { addSpecialTokens: false }), 'messages');
}

function completionPromptIds(request: CompletionRequest, tokenizer: TextTokenizer, runner: ModelRunner): number[] {
  const prompt = Array.isArray(request.prompt) && request.prompt.length === 1 && typeof request.prompt[0] !== 'number' ? request.prompt[0] : request.prompt;
  if (typeof prompt === 'string') return nonEmpty(tokenizer.encode(prompt), 'prompt');
  const ids = prompt as number[];
  const vocab = runner.spec.vocabSize;
  const bad = ids.findIndex((id) => id >= vocab);
  if (bad >= 0) throw OpenAIError.badRequest(`prompt[${bad}]: token id ${ids[bad]} is outside the vocabulary (0…${vocab - 1})`, 'prompt');
  return ids;
}

function nonEmpty(ids: number[], param: string): number[] {
  if (ids.length === 0) throw OpenAIError.badRequest('the prompt encodes to no tokens', param);
  return ids;
}

async function sendCompletion(kind: Kind, c: Completion, events: AsyncGenerator<GenerationEvent>, promptTokens: number, res: http.ServerResponse): Promise<void> {
  for await (const event of events) {
    if (event.type !== 'done') continue;
    if (event.reason === 'cancelled') return;
    const use = usage(promptTokens, event.ids.length);
    const finish = finishReason(event.reason);
    sendJson(res, 200, kind === 'chat' ? chatCompletion(c, event.text, finish, use) : textCompletion(c, event.text, finish, use));
  }
}

/** Server-sent events as OpenAI streams them: a chunk per token with text, a final chunk with the finish reason, [DONE]. */
async function streamCompletion(kind: Kind, c: Completion, events: AsyncGenerator<GenerationEvent>, promptTokens: number, includeUsage: boolean,
  res: http.ServerResponse): Promise<void> {
  res.writeHead(200, { ...HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
  const chunk = (text: string | null, finish: ReturnType<typeof finishReason> | null) => sseData(kind === 'chat'
    ? chatChunk(c, text === null ? {} : { content: text }, finish, includeUsage)
    : textCompletion(c, text ?? '', finish, includeUsage ? null : undefined));
  if (kind === 'chat') res.write(sseData(chatChunk(c, { role: 'assistant', content: '' }, null, includeUsage)));
  let streamed = '';
  for await (const event of events) {
    if (event.type === 'token' && event.text) {
      streamed += event.text;
      res.write(chunk(event.text, null));
    } else if (event.type === 'done') {
      if (event.reason === 'cancelled') return void res.end();
      const rest = event.text.slice(streamed.length);
      if (rest) res.write(chunk(rest, null));
      res.write(chunk(kind === 'chat' ? null : '', finishReason(event.reason)));
      if (includeUsage) {
        const use = usage(promptTokens, event.ids.length);
        res.write(sseData(kind === 'chat' ? chatUsageChunk(c, use) : textUsageChunk(c, use)));
      }
      res.end(SSE_DONE);
    }
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...HEADERS, ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** The request body as JSON: at most MAX_BODY_BYTES (413 past it), else a 400 naming the parse problem. */
function readJsonBody(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return reject(new OpenAIError(413, `the request body is larger than ${MAX_BODY_BYTES / 2 ** 20} MiB`, 'invalid_request_error', 'request_too_large'));
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        reject(OpenAIError.badRequest(`the request body is not valid JSON: ${(err as Error).message}`));
      }
    });
    req.on('error', reject);
  });
}
