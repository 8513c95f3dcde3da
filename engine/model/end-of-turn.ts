import type { TextTokenizer } from './tokenizer.ts';

const SENTINEL = 'MoTE-end-of-turn-probe';

/**
 * Token ids that end an assistant turn: the tokenizer's EOS ids and the first special token the chat template puts
 * after an assistant message (ChatML's <|im_end|>, Llama 3's <|eot_id|>, gpt-oss's <|return|>), found by rendering
 * a user turn and an assistant turn holding a sentinel. Checkpoints whose EOS is not their end-of-turn marker
 * otherwise run on into a made-up next turn. A template that cannot render that conversation adds nothing.
 */
export function endOfTurnTokenIds(tokenizer: TextTokenizer): number[] {
  const ids = new Set(tokenizer.eosTokenIds);
  if (!tokenizer.hasChatTemplate) return [...ids];
  let rendered: string;
  try {
    rendered = tokenizer.applyChatTemplate([{ role: 'user', content: 'Hello' }, { role: 'assistant', content: SENTINEL }]);
  } catch {
    return [...ids];
  }
  const at = rendered.lastIndexOf(SENTINEL);
  if (at < 0) return [...ids];
  const isSpecial = (id: number) => tokenizer.decode([id], { skipSpecialTokens: true }) === '' && tokenizer.decode([id]) !== '';
  const marker = tokenizer.encode(rendered.slice(at + SENTINEL.length), { addSpecialTokens: false }).find(isSpecial);
  if (marker !== undefined) ids.add(marker);
  return [...ids];
}
