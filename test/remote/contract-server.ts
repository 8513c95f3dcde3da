/**
 * Contract test servers for remote recording: node HTTP servers that answer /v1/chat/completions the way SGLang and
 * vLLM document it, with the routing the local engine computes for the demo model, so a remote run can be compared
 * with a local one. The wire formats are written here independently of engine/remote/ (a shared encoder could not
 * catch a misread format); the sources each one follows:
 *
 * SGLang (sgl-project/sglang main, 2026; PR #12162 "Enable return routed experts", PR #17434 "Add return routed
 * experts to the completions and chat/completions endpoints"):
 * - request: `return_routed_experts`, `return_prompt_token_ids`, `return_token_ids` (protocol.py ChatCompletionRequest);
 *   max_tokens must be positive (validate_max_tokens_positive);
 * - response: `sglext: {routed_experts}` at the response level (protocol.py SglExt, serving_chat.py
 *   _build_chat_response), base64 of raw int32 [seqlen − 1, num_hidden_layers, top_k]
 *   (detokenizer_manager.py _extract_routed_experts, routed_experts_capturer.py get_routed_experts); per choice
 *   `prompt_token_ids`, `response_token_ids`, `finish_reason`, `matched_stop`;
 * - errors: {"object": "error", "message", "type", "param", "code"} (serving_base.py create_error_response).
 * vLLM (vllm-project/vllm main, 2026; PR #28284 "Support recording expert indices for rollout router replay",
 * PR #39568 "Replace shared-memory routed experts with ModelRunnerOutput transfer and HTTP support"):
 * - request: `return_token_ids`; routing is on for every request when the server runs with
 *   --enable-return-routed-experts;
 * - response: choice `routed_experts` = base64 of .npy bytes, shape (num_tokens − 1, num_hidden_layers, top_k),
 *   uint8 for ≤ 256 experts (chat_completion/protocol.py, chat_completion/serving.py numpy2base64); response
 *   `prompt_token_ids`, choice `token_ids` with the stop token;
 * - errors: {"error": {"message", "type", "param", "code"}} (serve/engine/protocol.py ErrorResponse).
 * Both: the last generated token has no routing (never fed back); prompt tokens served from the prefix cache keep
 * their routing (both index a routing buffer by KV slot); usage.prompt_tokens_details.cached_tokens counts them.
 * vLLM's opt-in --enable-omit-prefix-routed-experts (PR #57966) drops those rows: `omitCachedPrefix` emulates it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadTokenizer, type TextTokenizer } from '../../engine/model/tokenizer.ts';
import { generate } from '../../engine/runtime/generate.ts';
import type { ModelRunner, StepRouting } from '../../engine/runtime/model-runner.ts';
import { openRunner } from '../helpers/engine-run.ts';

export type Fault =
  | { status: number; message: string }
  /** 200 with a routed-experts payload that decodes to the wrong number of ids. */
  | 'malformed'
  /** The connection is closed without an answer. */
  | 'drop';

export interface ContractServerOptions {
  backend: 'sglang' | 'vllm';
  modelDir: string;
  modelId: string;
  apiKey?: string;
  /** Consumed one per request, before the request is served. */
  faults?: Fault[];
  /** vLLM --enable-omit-prefix-routed-experts. */
  omitCachedPrefix?: boolean;
  /** SGLang started without --enable-return-routed-experts. */
  routingDisabled?: boolean;
  /** Holds each answer back 0–2 × this many ms (by prompt length), so answers overtake one another. */
  jitterMs?: number;
}

export interface ContractServer {
  url: string;
  /** Chat requests received, faulted ones included. */
  requests: number;
  /** Requests being answered at the busiest moment. */
  maxInFlight: number;
  close(): Promise<void>;
}

interface Generation {
  promptIds: number[];
  /** As the servers report them: the stop token included when generation ended on it. */
  outputIds: number[];
  text: string;
  stopped: boolean;
  eosId: number | null;
  /** [P + generated-and-fed-back tokens][numHiddenLayers][k]; dense layers all 0. */
  rows: number[][][];
}

export async function startContractServer(opts: ContractServerOptions): Promise<ContractServer> {
  const runner = await openRunner(opts.modelDir);
  const tokenizer = await loadTokenizer(opts.modelDir, runner.checkpoint.config);
  const faults = [...(opts.faults ?? [])];
  const seenPrompts = new Set<string>();
  let queue: Promise<unknown> = Promise.resolve();
  /** The engine runs one sequence at a time; requests queue for it as a server's scheduler would batch them. */
  const serialized = <T>(job: () => Promise<T>): Promise<T> => {
    const result = queue.then(job);
    queue = result.catch(() => undefined);
    return result;
  };
  let inFlight = 0;
  const state: ContractServer = { url: '', requests: 0, maxInFlight: 0, close: async () => undefined };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, inFlight);
      serve(req, res, Buffer.concat(chunks).toString('utf8'))
        .catch((err: Error) => sendError(res, opts.backend, 500, err.message))
        .finally(() => { inFlight--; });
    });
  });

  async function serve(req: http.IncomingMessage, res: http.ServerResponse, text: string): Promise<void> {
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return sendError(res, opts.backend, 404, `no route ${req.method} ${req.url}`);
    state.requests++;
    if (opts.apiKey && req.headers.authorization !== `Bearer ${opts.apiKey}`) return sendError(res, opts.backend, 401, 'Unauthorized');
    const fault = faults.shift();
    if (fault === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault && fault !== 'malformed') return sendError(res, opts.backend, fault.status, fault.message);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return sendError(res, opts.backend, 400, 'JSON decode error');
    }
    if (body.model !== opts.modelId) return sendError(res, opts.backend, 404, `The model \`${String(body.model)}\` does not exist.`);
    const maxTokens = body.max_tokens;
    if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens <= 0) return sendError(res, opts.backend, 400, 'max_tokens must be positive');
    const messages = body.messages as { role: string; content: string }[];
    const g = await serialized(() => run(runner, tokenizer, messages, maxTokens));
    if (opts.jitterMs) await new Promise((resolve) => setTimeout(resolve, (g.promptIds.length % 3) * opts.jitterMs!));
    const key = g.promptIds.join(',');
    const cached = seenPrompts.has(key) ? g.promptIds.length : 0;
    seenPrompts.add(key);
    let rows = g.rows.slice(0, g.promptIds.length + g.outputIds.length - 1);
    if (opts.omitCachedPrefix) rows = rows.slice(cached);
    if (fault === 'malformed') rows = rows.slice(1);
    const answer = opts.backend === 'sglang' ? sglangAnswer(opts.modelId, body, g, rows, cached, opts.routingDisabled === true) : vllmAnswer(opts.modelId, body, g, rows, cached, runner.spec.numExperts);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer));
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await runner.dispose();
  };
  return state;
}

/** The chat template, greedy generation and routing of the local engine, laid out as both servers capture it. */
async function run(runner: ModelRunner, tokenizer: TextTokenizer, messages: { role: string; content: string }[], maxTokens: number): Promise<Generation> {
  const rendered = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
  const promptIds = tokenizer.encode(rendered, { addSpecialTokens: false });
  const L = runner.spec.numLayers;
  const k = runner.spec.topK;
  const rows: number[][][] = [];
  const append = (r: StepRouting) => {
    for (let t = 0; t < r.tokens; t++) {
      const row = Array.from({ length: L }, () => new Array<number>(k).fill(0));
      r.layers.forEach((layer, l) => {
        for (let j = 0; j < k; j++) row[layer][j] = r.selected[(l * r.tokens + t) * k + j];
      });
      rows.push(row);
    }
  };
  const outputIds: number[] = [];
  let text = '';
  let stopped = false;
  for await (const event of generate(runner, tokenizer, promptIds, { maxTokens, eosTokenIds: tokenizer.eosTokenIds })) {
    if (event.type === 'prompt' && event.routing) append(event.routing);
    if (event.type === 'token') {
      outputIds.push(event.id);
      if (event.routing) append(event.routing);
    }
    if (event.type === 'done') {
      text = event.text;
      stopped = event.reason === 'eos';
    }
  }
  const eosId = stopped ? tokenizer.eosTokenIds[0] : null;
  if (eosId !== null) outputIds.push(eosId);
  return { promptIds, outputIds, text, stopped, eosId, rows };
}

function usage(g: Generation, cached: number) {
  return {
    prompt_tokens: g.promptIds.length, completion_tokens: g.outputIds.length, total_tokens: g.promptIds.length + g.outputIds.length,
    prompt_tokens_details: cached > 0 ? { cached_tokens: cached } : null,
  };
}

function sglangAnswer(modelId: string, body: Record<string, unknown>, g: Generation, rows: number[][][], cached: number, routingDisabled: boolean) {
  const ids = Int32Array.from(rows.flat(2));
  const routed = Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength).toString('base64');
  return {
    id: 'b2f1c0ffee', object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: modelId,
    choices: [{
      index: 0,
      message: { role: 'assistant', content: g.text, reasoning_content: null, tool_calls: null },
      logprobs: null,
      finish_reason: g.stopped ? 'stop' : 'length',
      matched_stop: g.eosId,
      ...(body.return_prompt_token_ids ? { prompt_token_ids: g.promptIds } : {}),
      ...(body.return_token_ids ? { response_token_ids: g.outputIds } : {}),
    }],
    usage: usage(g, cached),
    ...(body.return_routed_experts && !routingDisabled ? { sglext: { routed_experts: routed } } : {}),
  };
}

function vllmAnswer(modelId: string, body: Record<string, unknown>, g: Generation, rows: number[][][], cached: number, numExperts: number) {
  const shape = [rows.length, rows[0]?.length ?? 0, rows[0]?.[0]?.length ?? 0];
  return {
    id: 'chatcmpl-9e1d', object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: modelId,
    choices: [{
      index: 0,
      message: { role: 'assistant', content: g.text, refusal: null, annotations: null, audio: null, function_call: null, reasoning: null },
      logprobs: null,
      finish_reason: g.stopped ? 'stop' : 'length',
      stop_reason: null,
      token_ids: body.return_token_ids ? g.outputIds : null,
      routed_experts: npyBase64(rows.flat(2), shape, numExperts <= 256 ? '|u1' : '<u2'),
    }],
    service_tier: null, system_fingerprint: null,
    usage: usage(g, cached),
    prompt_logprobs: null,
    prompt_token_ids: body.return_token_ids ? g.promptIds : null,
    prompt_text: null, kv_transfer_params: null,
  };
}

/** numpy.save's format 1.0: magic, version, little-endian header length, a dict literal padded to 64 bytes. */
function npyBase64(values: number[], shape: number[], descr: '|u1' | '<u2'): string {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const size = descr === '|u1' ? 1 : 2;
  const data = Buffer.alloc(values.length * size);
  values.forEach((v, i) => (size === 1 ? data.writeUInt8(v, i) : data.writeUInt16LE(v, i * 2)));
  const length = Buffer.alloc(2);
  length.writeUInt16LE(header.length);
  return Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0]), length, Buffer.from(header, 'latin1'), data]).toString('base64');
}

function sendError(res: http.ServerResponse, backend: 'sglang' | 'vllm', status: number, message: string): void {
  const type = status >= 500 ? 'InternalServerError' : status === 404 ? 'NotFoundError' : 'BadRequestError';
  const body = backend === 'sglang'
    ? { object: 'error', message, type, param: null, code: status }
    : { error: { message, type, param: null, code: status } };
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
