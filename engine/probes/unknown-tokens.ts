import type { TextTokenizer } from '../model/tokenizer.ts';
import type { UnknownTokenReport } from '../protocol/types.ts';
import type { ProbePrompt } from './probe-set.ts';

/** A set is flagged when more than this share of its text's tokens are unknown, or most of its prompts hold one. */
export const UNKNOWN_SHARE_LIMIT = 0.2;
const EXAMPLES = 5;

/**
 * How much of a probe set's own text (prompts and forced responses, without the chat template) the tokenizer
 * cannot represent: every such word becomes the one unknown token, so its routing says nothing about the word.
 * null when the tokenizer has no unknown token (byte-level BPE encodes any text). `model` names the model in the
 * warning.
 */
export function unknownTokenReport(prompts: ProbePrompt[], tokenizer: TextTokenizer, model: string): UnknownTokenReport | null {
  const unk = tokenizer.unkTokenId;
  if (unk === null) return null;
  let unknown = 0;
  let total = 0;
  let promptsWithUnknown = 0;
  const examples = new Set<string>();
  const checked = new Set<string>();
  for (const p of prompts) {
    const texts = p.response === undefined ? [p.text] : [p.text, p.response];
    const ids = texts.flatMap((t) => tokenizer.encode(t, { addSpecialTokens: false }));
    const n = ids.reduce((a, id) => a + (id === unk ? 1 : 0), 0);
    unknown += n;
    total += ids.length;
    if (n === 0) continue;
    promptsWithUnknown++;
    for (const word of texts.join(' ').split(/\s+/).map((w) => w.replace(/^\p{P}+|\p{P}+$/gu, ''))) {
      if (examples.size >= EXAMPLES || checked.has(word)) continue;
      checked.add(word);
      if (word && tokenizer.encode(word, { addSpecialTokens: false }).includes(unk)) examples.add(word);
    }
  }
  const token = tokenizer.tokenText(unk);
  const flagged = total > 0 && (unknown / total > UNKNOWN_SHARE_LIMIT || promptsWithUnknown > prompts.length / 2);
  const warning = flagged
    ? `${unknown.toLocaleString('en')} of ${total.toLocaleString('en')} tokens of this set (in ${promptsWithUnknown.toLocaleString('en')} of ` +
      `${prompts.length.toLocaleString('en')} prompts) are unknown (${token}) to ${model}'s tokenizer: the model reads each as the same ` +
      `${token}, so their routing says nothing about those words${examples.size ? ` (e.g. ${[...examples].map((w) => JSON.stringify(w)).join(', ')})` : ''}`
    : null;
  return { token, unknown, total, promptsWithUnknown, prompts: prompts.length, examples: [...examples], warning };
}
