import type { AnswerMatchMode } from '../protocol/types.ts';
import type { OutputClassifier } from './probe-set.ts';

/**
 * The label of the first rule with a phrase (case-insensitive substring) or regex (JavaScript, flag i) found in
 * `text`, else `otherwise`. Typographic apostrophes in the text and phrases read as ': models write "I can’t"
 * as often as "I can't".
 */
export function classifyOutput(classifier: OutputClassifier, text: string): string {
  const plain = plainApostrophes(text);
  const lower = plain.toLowerCase();
  for (const rule of classifier.rules) {
    if (rule.phrases?.some((p) => lower.includes(plainApostrophes(p).toLowerCase()))) return rule.label;
    if (rule.regex?.some((r) => new RegExp(r, 'i').test(plain))) return rule.label;
  }
  return classifier.otherwise;
}

const plainApostrophes = (s: string) => s.replace(/[\u2018\u2019\u02bc]/g, "'");

/**
 * Whether `answer` is found in `text` under `match`, how an expected answer is matched against an output (probe-set `classifier.answerMatch`). Words are runs of
 * letters and digits, compared ignoring case and punctuation ("Paris" is found in "It's Paris." but not in
 * "Parisian"; "4" not in "14"):
 * - `contains` (the default): the answer's words appear contiguously anywhere in the output;
 * - `exact`: the output's words are exactly the answer's;
 * - `first-sentence`: the answer's words appear contiguously in the output's first sentence (up to the first
 *   line break or `.`, `!`, `?` not followed by a letter or digit), so an answer in a run-on second turn does not count.
 * An answer with no letters or digits is never found.
 */
export function answerFound(answer: string, text: string, match: AnswerMatchMode = 'contains'): boolean {
  const want = words(answer);
  if (!want.length) return false;
  const have = words(match === 'first-sentence' ? firstSentence(text) : text);
  if (match === 'exact') return have.length === want.length && want.every((w, i) => have[i] === w);
  for (let start = 0; start + want.length <= have.length; start++) {
    if (want.every((w, i) => have[start + i] === w)) return true;
  }
  return false;
}

const words = (s: string) => s.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);

/** Text up to the first sentence end ([.!?] not followed by a letter or digit, so 3.14 and U.S. stay whole) or line break. */
function firstSentence(text: string): string {
  const trimmed = text.trimStart();
  const end = trimmed.search(/[.!?](?![\p{L}\p{N}])|\n/u);
  return end < 0 ? trimmed : trimmed.slice(0, end);
}
