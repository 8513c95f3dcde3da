import type { ConditionResult, PromptOutcome, PromptVerdict, Proportion, StoredEvaluation } from '../protocol/types.ts';

export const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`);

/** "72.0 % [52.4, 85.7]": the rate and its 95 % Wilson interval, in percent. */
export function rateWithInterval(rate: number | null, p: Proportion | null): string {
  if (rate === null) return '—';
  return p ? `${pct(rate)} [${(p.low * 100).toFixed(1)}, ${(p.high * 100).toFixed(1)}]` : pct(rate);
}

/** "0.167 (0 of 5 random masks cut at least as much)" */
export function randomTestText(s: StoredEvaluation): string {
  const t = s.randomTest;
  if (t.p === null) return `random-mask test: ${t.note}`;
  return `random-mask test: ${t.atLeastAsLarge} of ${t.controls} random masks cut the behaviour at least as much as the mask; permutation p = ${t.p.toFixed(3)}` +
    (t.note ? `\n  (${t.note})` : '');
}

const excerpt = (text: string, max = 60) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > max ? `${flat.slice(0, max - 1)}…` : flat);
};
const verdict = (v: PromptVerdict) => v.label + (v.correct === null ? '' : v.correct ? ', correct' : ', wrong');

const CHANGED_SHOWN = 5;

/** An evaluation as the CLI prints it: rates with 95 % intervals, the random-mask test, dose, forcing, changed prompts. */
export function formatEvaluation(r: StoredEvaluation, opts: { allChanged?: boolean } = {}): string {
  const row = (c: ConditionResult) => [c.name.padEnd(18), String(c.entries).padStart(7), rateWithInterval(c.behaviourRate, c.behaviour).padStart(22),
    rateWithInterval(c.benignAccuracy, c.accuracy).padStart(22), rateWithInterval(c.benignBehaviourRate, c.benignBehaviour).padStart(22)].join('  ');
  const lines = [
    `evaluation ${r.evaluationId} (${r.createdAt}${r.precision ? `, ${r.precision}` : ''}): set ${r.setId}; behaviour "${r.behaviour}" on class ${r.targetClass} (${r.targetPrompts} prompts), ${r.benignPrompts} benign prompts`,
  ];
  if (r.settings) {
    const s = r.settings;
    lines.push(`settings: ${s.maxTokens} tokens; answers matched "${s.answerMatch}"; outputs end at ${[...s.endOfTurn, ...s.stop.map((x) => JSON.stringify(x))].join(', ') || 'max tokens only'}`);
  }
  lines.push(
    'rates with 95 % Wilson intervals, in %',
    ['condition'.padEnd(18), 'experts'.padStart(7), 'behaviour'.padStart(22), 'accuracy'.padStart(22), 'benign behaviour'.padStart(22)].join('  '),
    row(r.baseline),
    row(r.masked),
    ...r.randomControls.map(row),
  );
  if (r.randomSummary) {
    const s = r.randomSummary;
    lines.push(`random masks: behaviour ${pct(s.behaviourMean)} ± ${pct(s.behaviourSd)}, accuracy ${pct(s.accuracyMean)} ± ${pct(s.accuracySd)}`);
  }
  lines.push(randomTestText(r));
  const base = r.baseline.behaviourRate ?? 0;
  if (base > 0) {
    const cut = (v: number | null) => (v === null ? '—' : `${(((base - v) / base) * 100).toFixed(0)} %`);
    lines.push(`relative cut in behaviour: mask ${cut(r.masked.behaviourRate)}, random ${cut(r.randomSummary?.behaviourMean ?? null)}`);
  }
  if (r.dose.length) lines.push('dose-response:', ...r.dose.map(row));
  if (r.forced) {
    const change = r.forced.benignAccuracy !== null && r.baseline.benignAccuracy !== null
      ? ` (${r.forced.benignAccuracy >= r.baseline.benignAccuracy ? '+' : ''}${((r.forced.benignAccuracy - r.baseline.benignAccuracy) * 100).toFixed(1)} points)` : '';
    lines.push(`forcing the mask's experts on benign prompts: behaviour ${pct(r.baseline.benignBehaviourRate)} → ${pct(r.forced.benignBehaviourRate)}, ` +
      `accuracy ${pct(r.baseline.benignAccuracy)} → ${pct(r.forced.benignAccuracy)}${change}`);
  }
  lines.push(...changedLines(r.prompts, opts.allChanged ?? false));
  return lines.join('\n');
}

function changedLines(prompts: PromptOutcome[], all: boolean): string[] {
  if (!prompts.length) return [];
  const changed = prompts.filter((p) => p.changed);
  if (!changed.length) return [`outcome changed by the mask: 0 of ${prompts.length} prompts`];
  const shown = all ? changed : changed.slice(0, CHANGED_SHOWN);
  return [
    `outcome changed by the mask: ${changed.length} of ${prompts.length} prompts (baseline → mask)`,
    ...shown.map((p) => `  #${p.index} ${p.class}: ${excerpt(p.text, 50)}${p.answer ? ` [answer ${p.answer}]` : ''}\n` +
      `      ${verdict(p.baseline)} ${excerpt(p.baseline.output)} → ${verdict(p.masked)} ${excerpt(p.masked.output)}`),
    ...(shown.length < changed.length ? [`  … ${changed.length - shown.length} more (--changed lists them all)`] : []),
  ];
}
