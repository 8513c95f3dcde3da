/**
 * SGLang's OpenAI-compatible chat endpoint with routed experts (server flag --enable-return-routed-experts).
 *
 * Read in sgl-project/sglang (versions of main from 2026 held by the reference corpus; whole files only where a
 * commit is named, elsewhere the functions quoted):
 * - python/sglang/srt/entrypoints/openai/protocol.py: ChatCompletionRequest fields `return_routed_experts`,
 *   `routed_experts_start_len` (default 0), `return_prompt_token_ids`, `return_token_ids`; class SglExt
 *   {routed_experts: str | None, cached_tokens_details}, attached at the *response* level as `sglext`.
 * - python/sglang/srt/entrypoints/openai/serving_chat.py `_build_chat_response`: `sglext.routed_experts` comes from
 *   meta_info["routed_experts"] of the first choice; each choice carries `prompt_token_ids` and
 *   `response_token_ids`, `finish_reason` ("stop" | "length") and `matched_stop` (the stop token id or string).
 * - python/sglang/srt/managers/detokenizer_manager.py `_extract_routed_experts`:
 *   pybase64.b64encode(tensor.numpy().tobytes()) of an int32 tensor — raw little-endian int32, no header.
 * - python/sglang/srt/layers/moe/routed_experts_capturer.py (whole file at 0837e911; later versions' functions):
 *   host buffer [kv slots, num_hidden_layers, num_experts_per_tok] int32; `get_routed_experts` returns buffer[req_to_token[req][start_len : seqlen - 1]], i.e.
 *   rows for every token but the last generated one. Rows are read by KV-cache slot, so prompt tokens served from
 *   the radix (prefix) cache carry the routing computed when they were first prefilled.
 * - PR sgl-project/sglang#17434 (merged 2026-01): the same data on /v1/completions and /v1/chat/completions.
 * Not verified against a running server (none runs here); the contract test server in test/remote/ reproduces this.
 */
import type { RemoteShape } from './remote-model.ts';
import { base64Bytes, greedyChatBody, intList, isObject, type RemoteBackend, type RemoteChatRequest, type RemoteCompletion } from './remote-backend.ts';

export const sglang: RemoteBackend = {
  name: 'sglang',
  chatPath: '/v1/chat/completions',

  chatBody(r: RemoteChatRequest) {
    return {
      ...greedyChatBody(r),
      return_routed_experts: true,
      return_prompt_token_ids: true,
      return_token_ids: true,
    };
  },

  parseChat(body: unknown, shape: RemoteShape): RemoteCompletion {
    if (!isObject(body)) throw new Error('the response is not a JSON object');
    const choice = Array.isArray(body.choices) ? body.choices[0] : undefined;
    if (!isObject(choice)) throw new Error('the response has no choices[0]');
    const sglext = body.sglext;
    if (!isObject(sglext) || sglext.routed_experts === undefined || sglext.routed_experts === null) {
      throw new Error('the response has no sglext.routed_experts: start the server with --enable-return-routed-experts (SGLang with PR #17434, 2026-01 or later)');
    }
    if (choice.prompt_token_ids === undefined) throw new Error('choices[0].prompt_token_ids is missing: the server ignores return_prompt_token_ids (SGLang too old)');
    if (choice.response_token_ids === undefined) throw new Error('choices[0].response_token_ids is missing: the server ignores return_token_ids (SGLang too old)');
    const promptIds = intList(choice.prompt_token_ids, 'choices[0].prompt_token_ids');
    const outputIds = intList(choice.response_token_ids, 'choices[0].response_token_ids');
    const bytes = base64Bytes(sglext.routed_experts, 'sglext.routed_experts');
    if (bytes.length % 4 !== 0) throw new Error(`sglext.routed_experts holds ${bytes.length} bytes, not whole int32 values`);
    const routed = new Int32Array(bytes.length / 4);
    for (let i = 0; i < routed.length; i++) routed[i] = bytes.readInt32LE(i * 4);
    const rows = promptIds.length + outputIds.length - 1;
    const perRow = rows > 0 ? routed.length / rows : 0;
    // The payload has no shape: its layer axis follows from the expected rows and k.
    const layersInPayload = perRow / shape.topK;
    if (!Number.isInteger(layersInPayload)) {
      throw new Error(`sglext.routed_experts holds ${routed.length} expert ids, not ${rows} tokens × layers × k ${shape.topK} (${promptIds.length} prompt + ${outputIds.length} generated tokens − 1)`);
    }
    const message = isObject(choice.message) ? choice.message : {};
    const usage = isObject(body.usage) ? body.usage : {};
    const details = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
    return {
      promptIds, outputIds,
      text: typeof message.content === 'string' ? message.content : '',
      stopped: choice.finish_reason === 'stop',
      cachedTokens: typeof details.cached_tokens === 'number' ? details.cached_tokens : 0,
      routed, rows, layersInPayload,
    };
  },
};
