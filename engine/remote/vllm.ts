/**
 * vLLM's OpenAI-compatible chat endpoint with routed experts (engine argument enable_return_routed_experts, CLI
 * --enable-return-routed-experts; there is no per-request switch).
 *
 * Read in vllm-project/vllm (stored versions of main, 2026):
 * - vllm/entrypoints/openai/chat_completion/protocol.py (commit 002032ee): ChatCompletionResponseChoice
 *   `routed_experts: str | None` — "base64-encoded .npy bytes … shape (num_tokens - 1, num_layers,
 *   num_experts_per_tok) dtype uint8/uint16/int32; num_tokens - 1 because the last sampled token has not been
 *   forwarded yet; None if the request was aborted before any forward pass or enable_return_routed_experts is
 *   off". Request fields `return_token_ids` (→ response `prompt_token_ids`, choice `token_ids`) and
 *   `routed_experts_prompt_start` (default 0: skip the first N prompt tokens).
 * - vllm/entrypoints/openai/chat_completion/serving.py (commit 006c49d4) `chat_completion_full_generator`:
 *   routed_experts = numpy2base64(output.routed_experts); token_ids = output.token_ids (a stop token included).
 * - The layer axis is hf_text_config.num_hidden_layers and the dtype uint8 when num_experts ≤ 256, else uint16
 *   (get_routing_shape_and_dtype in vLLM's routed-experts code).
 * - Prefix caching: PR vllm-project/vllm#39917 keeps the routing of prefix-cache hits (restored per KV block);
 *   the opt-in --enable-omit-prefix-routed-experts (PR #57966, open) would drop the cached prefix's rows, which the
 *   recorder detects and refuses. Older releases sent nested JSON lists (`prompt_routed_experts` at the response
 *   level): not supported here.
 * Not verified against a running server (none runs here); the contract test server in test/remote/ reproduces this.
 */
import type { RemoteShape } from './remote-model.ts';
import { base64Bytes, greedyChatBody, intList, isObject, type RemoteBackend, type RemoteChatRequest, type RemoteCompletion } from './remote-backend.ts';

export const vllm: RemoteBackend = {
  name: 'vllm',
  chatPath: '/v1/chat/completions',

  chatBody(r: RemoteChatRequest) {
    return {
      ...greedyChatBody(r),
      return_token_ids: true,
    };
  },

  parseChat(body: unknown, _shape: RemoteShape): RemoteCompletion {
    if (!isObject(body)) throw new Error('the response is not a JSON object');
    const choice = Array.isArray(body.choices) ? body.choices[0] : undefined;
    if (!isObject(choice)) throw new Error('the response has no choices[0]');
    if (choice.routed_experts === undefined || choice.routed_experts === null) {
      throw new Error('choices[0].routed_experts is missing: start vLLM with --enable-return-routed-experts');
    }
    if (typeof choice.routed_experts !== 'string') {
      throw new Error('choices[0].routed_experts is not a base64 .npy string (older vLLM releases sent nested lists; upgrade the server)');
    }
    if (body.prompt_token_ids === undefined || choice.token_ids === undefined) {
      throw new Error('prompt_token_ids or choices[0].token_ids is missing: the server ignores return_token_ids (vLLM too old)');
    }
    const promptIds = intList(body.prompt_token_ids, 'prompt_token_ids');
    const outputIds = intList(choice.token_ids, 'choices[0].token_ids');
    const { shape, values } = readNpy(base64Bytes(choice.routed_experts, 'choices[0].routed_experts'), 'choices[0].routed_experts');
    if (shape.length !== 3) throw new Error(`choices[0].routed_experts has shape (${shape.join(', ')}), not (tokens, layers, k)`);
    const message = isObject(choice.message) ? choice.message : {};
    const usage = isObject(body.usage) ? body.usage : {};
    const details = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
    return {
      promptIds, outputIds,
      text: typeof message.content === 'string' ? message.content : '',
      // vLLM reports "stop" for a stop token (stop_reason null = EOS, or the stop token id).
      stopped: choice.finish_reason === 'stop',
      cachedTokens: typeof details.cached_tokens === 'number' ? details.cached_tokens : 0,
      routed: values, rows: shape[0], layersInPayload: shape[1],
    };
  },
};

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/** Integer element types numpy.save writes for routed experts, by their `descr`. */
const NPY_INTS: Record<string, { size: number; read: (b: Buffer, at: number) => number }> = {
  '|u1': { size: 1, read: (b, at) => b.readUInt8(at) },
  '|i1': { size: 1, read: (b, at) => b.readInt8(at) },
  '<u2': { size: 2, read: (b, at) => b.readUInt16LE(at) },
  '<i2': { size: 2, read: (b, at) => b.readInt16LE(at) },
  '<i4': { size: 4, read: (b, at) => b.readInt32LE(at) },
  '<u4': { size: 4, read: (b, at) => b.readUInt32LE(at) },
  '<i8': { size: 8, read: (b, at) => Number(b.readBigInt64LE(at)) },
};

/** Reads a NumPy .npy file (format versions 1–3) holding a C-order integer array. */
export function readNpy(bytes: Buffer, field: string): { shape: number[]; values: Int32Array } {
  const fail = (problem: string): never => { throw new Error(`${field} is not a NumPy .npy array: ${problem}`); };
  if (bytes.length < 10 || !bytes.subarray(0, 6).equals(NPY_MAGIC)) fail('no \\x93NUMPY header');
  const major = bytes[6];
  if (major < 1 || major > 3) fail(`format version ${major}`);
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  if (start + headerLength > bytes.length) fail('the header runs past the end');
  const header = bytes.subarray(start, start + headerLength).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) fail(`unreadable header ${JSON.stringify(header.trim())}`);
  if (fortran === 'True') fail('Fortran order');
  const type = NPY_INTS[descr!] ?? fail(`element type ${descr} is not an integer type`);
  const shape = shapeText!.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (shape.some((n) => !Number.isSafeInteger(n) || n < 0)) fail(`shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const data = start + headerLength;
  if (bytes.length - data !== count * type.size) fail(`${bytes.length - data} data bytes for shape (${shape.join(', ')}) of ${descr}`);
  const values = new Int32Array(count);
  for (let i = 0; i < count; i++) values[i] = type.read(bytes, data + i * type.size);
  return { shape, values };
}
