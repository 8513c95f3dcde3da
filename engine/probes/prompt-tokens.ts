import type { TextTokenizer } from '../model/tokenizer.ts';
import type { ProbePrompt, ProbeSet } from './probe-set.ts';

export interface PromptIds {
  /** Prompt tokens, then the forced response's. */
  ids: number[];
  promptTokens: number;
}

/**
 * Token ids a probe prompt is run with: the user text in the chat template when the set asks for it (default) and
 * the model has one, then a teacher-forced response if the prompt has one. The template supplies BOS when the
 * model wants it, so special tokens are only added to raw prompts.
 */
export function probePromptIds(set: ProbeSet, prompt: ProbePrompt, tokenizer: TextTokenizer): PromptIds {
  const chat = set.chat !== false && tokenizer.hasChatTemplate;
  const text = chat ? tokenizer.applyChatTemplate([{ role: 'user', content: prompt.text }], { addGenerationPrompt: true }) : prompt.text;
  const ids = tokenizer.encode(text, { addSpecialTokens: !chat });
  if (prompt.response === undefined) return { ids, promptTokens: ids.length };
  return { ids: [...ids, ...tokenizer.encode(prompt.response, { addSpecialTokens: false })], promptTokens: ids.length };
}

/** Prompts named in a too-long-prompts error. */
const LISTED_PROMPTS = 3;

/**
 * Token ids of every prompt by index. Refuses, before anything runs, a set with prompts (with their forced
 * responses) longer than the model's context, naming the file and the prompts.
 */
export function tokenizePrompts(set: ProbeSet, setPath: string, prompts: ProbePrompt[], tokenizer: TextTokenizer, context: number):
  Map<number, PromptIds> {
  const byIndex = new Map(prompts.map((p) => [p.index, probePromptIds(set, p, tokenizer)]));
  const tooLong = prompts.filter((p) => byIndex.get(p.index)!.ids.length > context);
  if (tooLong.length > 0) {
    const listed = tooLong.slice(0, LISTED_PROMPTS).map((p) => {
      const excerpt = p.text.length > 60 ? `${p.text.slice(0, 57)}…` : p.text;
      return `prompt ${p.index} (class ${p.class}, ${byIndex.get(p.index)!.ids.length} tokens${p.response === undefined ? '' : ' with its forced response'}): "${excerpt}"`;
    });
    const more = tooLong.length > LISTED_PROMPTS ? `; and ${tooLong.length - LISTED_PROMPTS} more` : '';
    throw new Error(`${setPath}: ${tooLong.length} of ${prompts.length} prompts are longer than the model's context of ${context} tokens: ${listed.join('; ')}${more}`);
  }
  return byIndex;
}
