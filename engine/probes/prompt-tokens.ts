import type { TextTokenizer } from '../model/tokenizer.ts';
import type { ProbePrompt, ProbeSet } from './probe-set.ts';

/**
 * Token ids a probe prompt is run with: the user text in the chat template when the set asks for it (default) and
 * the model has one, then a teacher-forced response if the prompt has one. The template supplies BOS when the
 * model wants it, so special tokens are only added to raw prompts.
 */
export function probePromptIds(set: ProbeSet, prompt: ProbePrompt, tokenizer: TextTokenizer): { ids: number[]; promptTokens: number } {
  const chat = set.chat !== false && tokenizer.hasChatTemplate;
  const text = chat ? tokenizer.applyChatTemplate([{ role: 'user', content: prompt.text }], { addGenerationPrompt: true }) : prompt.text;
  const ids = tokenizer.encode(text, { addSpecialTokens: !chat });
  if (prompt.response === undefined) return { ids, promptTokens: ids.length };
  return { ids: [...ids, ...tokenizer.encode(prompt.response, { addSpecialTokens: false })], promptTokens: ids.length };
}
