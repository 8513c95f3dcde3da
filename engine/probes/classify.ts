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
 * Whether `answer` occurs in `text` as whole words, ignoring case and punctuation: both are split into runs of
 * letters and digits, and the answer's run sequence must appear contiguously in the text's ("Paris" is found
 * in "It's Paris." but not in "Parisian"; "4" not in "14"). An answer with no letters or digits is never found.
 */
export function answerFound(answer: string, text: string): boolean {
  const want = words(answer);
  const have = words(text);
  if (!want.length) return false;
  for (let start = 0; start + want.length <= have.length; start++) {
    if (want.every((w, i) => have[start + i] === w)) return true;
  }
  return false;
}

const words = (s: string) => s.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
