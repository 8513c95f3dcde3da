import type { RemoteBackendName } from '../protocol/types.ts';
import type { RemoteShape } from './remote-model.ts';

/** One chat completion request of a probe prompt. */
export interface RemoteChatRequest {
  modelId: string;
  /** The user message; the server renders it with the model's chat template. */
  text: string;
  /** Tokens the server may generate (≥ 1: both servers refuse 0 on their chat endpoints). */
  maxTokens: number;
}

/** What a backend's response says, in the backend-independent form the recorder stores. */
export interface RemoteCompletion {
  /** The prompt as the server tokenized it (chat template applied). */
  promptIds: number[];
  /** Generated ids as the server reports them, a final stop token included. */
  outputIds: number[];
  text: string;
  /** Generation ended on a stop token (EOS), not on the token limit. */
  stopped: boolean;
  /** Prompt tokens the server took from its prefix cache (0 when it does not say). */
  cachedTokens: number;
  /**
   * Expert ids [rows, layersInPayload, k], row-major, as decoded from the payload; rows cover the sequence from its
   * first token up to, not including, the last generated one (which was never fed back).
   */
  routed: Int32Array;
  rows: number;
  layersInPayload: number;
}

/** The wire format of one server: request body, endpoint, response decoding. */
export interface RemoteBackend {
  name: RemoteBackendName;
  /** Path of the chat endpoint, appended to the server URL. */
  chatPath: string;
  chatBody(request: RemoteChatRequest): Record<string, unknown>;
  /** Decodes a 2xx response body; throws an Error describing what is missing or malformed. */
  parseChat(body: unknown, shape: RemoteShape): RemoteCompletion;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function intList(value: unknown, field: string): number[] {
  if (!Array.isArray(value) || value.some((v) => !Number.isSafeInteger(v))) throw new Error(`${field} is not a list of token ids`);
  return value as number[];
}

/** Decodes standard base64, refusing characters outside its alphabet (Buffer.from would skip them silently). */
export function base64Bytes(text: unknown, field: string): Buffer {
  if (typeof text !== 'string') throw new Error(`${field} is ${text === null ? 'null' : typeof text}, not a base64 string`);
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new Error(`${field} is not valid base64`);
  return Buffer.from(text, 'base64');
}

/**
 * The layer axis of a payload holds either every decoder layer (both servers size it by num_hidden_layers; dense
 * layers' rows carry no routing) or only the MoE layers. Returns the payload's indices of the run's MoE layers.
 */
export function moeLayerPositions(layersInPayload: number, shape: RemoteShape): number[] {
  if (layersInPayload === shape.numHiddenLayers) return shape.moeLayers;
  if (layersInPayload === shape.moeLayers.length) return shape.moeLayers.map((_, i) => i);
  throw new Error(`the routing holds ${layersInPayload} layers; the config has ${shape.numHiddenLayers} layers of which ${shape.moeLayers.length} are MoE layers`);
}

/** The chat request both backends take: the prompt as one user turn, greedy, not streamed. */
export const greedyChatBody = (r: RemoteChatRequest) => ({
  model: r.modelId, messages: [{ role: 'user', content: r.text }], max_tokens: r.maxTokens, temperature: 0, stream: false,
});
