import type { ModelInfo, OpenAIEndpointStatus } from '../protocol/types.ts';
import type { MaskFile } from '../steering/mask-file.ts';

/** How the host switches the OpenAI-compatible endpoint the process serving it has (engine/server/openai/control.ts). */
export interface OpenAIControl {
  status(): OpenAIEndpointStatus;
  setEnabled(enabled: boolean): Promise<OpenAIEndpointStatus>;
  /** Saves a mask as NAME.json in the masks folder; answers the file and the model name serving it. */
  saveMask(name: string, mask: MaskFile, model: ModelInfo): { file: string; model: string };
}

/** The status of an engine with no endpoint to switch. */
export const NO_OPENAI_ENDPOINT: OpenAIEndpointStatus = { available: false, enabled: false, baseUrl: null, apiKey: null, models: [], masksDir: null };
