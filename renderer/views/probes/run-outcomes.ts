import type { RecordedPrompt } from '../../../engine/protocol/types.ts';

/** One class's outcomes: how many prompts got each classifier verdict, and how many expected answers were found. */
export interface ClassOutcome {
  class: string;
  prompts: number;
  /** Verdict → prompts, in the order of `verdicts`; prompts without a verdict are under null. */
  counts: Map<string | null, number>;
  answered: number;
  correct: number;
}

/**
 * Per-class outcome counts of a run's recorded prompts. Classes: the run's declared ones first, then any other
 * found. Verdicts: labels equal to a class first (in class order), then the others by name, then "no verdict".
 */
export function classOutcomes(prompts: RecordedPrompt[], classes: string[]): { verdicts: (string | null)[]; rows: ClassOutcome[] } {
  const names = [...new Set([...classes, ...prompts.map((p) => p.class)])];
  const labels = new Set(prompts.map((p) => p.label));
  const verdicts: (string | null)[] = [
    ...names.filter((c) => labels.has(c)),
    ...[...labels].filter((l): l is string => l !== null && !names.includes(l)).sort(),
    ...(labels.has(null) ? [null] : []),
  ];
  const rows = names.map((name) => {
    const of = prompts.filter((p) => p.class === name);
    const answered = of.filter((p) => p.correct !== null);
    return {
      class: name,
      prompts: of.length,
      counts: new Map(verdicts.map((v) => [v, of.filter((p) => p.label === v).length])),
      answered: answered.length,
      correct: answered.filter((p) => p.correct).length,
    };
  });
  return { verdicts, rows };
}
