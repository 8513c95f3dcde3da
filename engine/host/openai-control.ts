import type { OpenAIEndpointStatus } from '../protocol/types.ts';

/** How the host switches the OpenAI-compatible endpoint the process serving it has (engine/server/openai/control.ts). */
export interface OpenAIControl {
  status(): OpenAIEndpointStatus;
  setEnabled(enabled: boolean): Promise<OpenAIEndpointStatus>;
}

/** The status of an engine with no endpoint to switch. */
export const NO_OPENAI_ENDPOINT: OpenAIEndpointStatus = { available: false, enabled: false, baseUrl: null, apiKey: null, models: [], masksDir: null };
