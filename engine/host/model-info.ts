import type { ModelSummary } from '../cli/inspect.ts';
import type { ModelInfo } from '../protocol/types.ts';
import type { ModelIdentity } from '../steering/mask-file.ts';

/** What the UI shows about the loaded model: the `mote inspect` summary, its tokenizer and mask identity. */
export function modelInfo(summary: ModelSummary, identity: ModelIdentity, hasChatTemplate: boolean, demo: boolean): ModelInfo {
  return { ...summary, demo, hasChatTemplate, identity };
}
