import type { ConditionResult, EvaluationSummary, PromptOutcome, Proportion, StoredEvaluation } from '../protocol/types.ts';
import type { Evaluation } from '../store/runs.ts';
import { randomMaskTest } from './evaluate.ts';

type Stored = Partial<StoredEvaluation> & { model?: { precision?: string } };

/**
 * A stored evaluation in today's shape. Evaluations stored before intervals, the random-mask test and per-prompt
 * outcomes existed get null counts, the test recomputed from their random masks' rates, and no prompts.
 */
export function storedEvaluation(e: Evaluation): StoredEvaluation {
  const r = e.result as Stored | null;
  if (!r || typeof r !== 'object' || !r.baseline || !r.masked || !Array.isArray(r.randomControls)) {
    throw new Error(`evaluation ${e.id}: the stored result is not an evaluation (no baseline, mask and random-mask results)`);
  }
  const condition = (c: ConditionResult): ConditionResult => ({ ...c, behaviour: c.behaviour ?? null, accuracy: c.accuracy ?? null, benignBehaviour: c.benignBehaviour ?? null });
  const randomControls = r.randomControls.map(condition);
  const masked = condition(r.masked);
  return {
    setId: e.setId,
    behaviour: r.behaviour ?? '',
    targetClass: r.targetClass ?? '',
    targetPrompts: r.targetPrompts ?? 0,
    benignPrompts: r.benignPrompts ?? 0,
    baseline: condition(r.baseline),
    masked,
    randomControls,
    randomSummary: r.randomSummary ?? null,
    dose: (r.dose ?? []).map(condition),
    forced: r.forced ? condition(r.forced) : null,
    randomTest: r.randomTest ?? randomMaskTest(masked.behaviourRate, randomControls.map((c) => c.behaviourRate)),
    prompts: r.prompts ?? [],
    settings: r.settings ?? null,
    evaluationId: e.id,
    createdAt: e.createdAt,
    mask: e.mask,
    precision: r.model?.precision ?? null,
  };
}

export function evaluationSummary(s: StoredEvaluation): EvaluationSummary {
  return {
    evaluationId: s.evaluationId, createdAt: s.createdAt, setId: s.setId, behaviour: s.behaviour, targetClass: s.targetClass,
    entries: s.mask.entries.length, baselineRate: s.baseline.behaviourRate, maskedRate: s.masked.behaviourRate,
    randomP: s.randomTest.p, randomControls: s.randomTest.controls, precision: s.precision,
  };
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
const field = (v: string | number | boolean | null) => {
  const text = v === null ? '' : String(v);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};
const csv = (header: string[], rows: (string | number | boolean | null)[][]) => [header, ...rows].map((r) => r.map(field).join(',')).join('\n') + '\n';

/**
 * One row per condition and measure: hits of n, the rate and its 95 % Wilson interval; the random-mask test as
 * the last row (hits = random masks cutting at least as much, n = K, rate = p).
 */
export function evaluationRatesCsv(s: StoredEvaluation): string {
  const conditions = [s.baseline, s.masked, ...s.randomControls, ...s.dose, ...(s.forced ? [s.forced] : [])];
  const measure = (c: ConditionResult, name: string, p: Proportion | null, rate: number | null) =>
    [c.name, c.entries, name, p?.hits ?? null, p?.n ?? null, rate, p?.low ?? null, p?.high ?? null];
  const rows = conditions.flatMap((c) => [
    measure(c, `behaviour (${s.behaviour} on ${s.targetClass})`, c.behaviour, c.behaviourRate),
    measure(c, 'benign accuracy', c.accuracy, c.benignAccuracy),
    measure(c, `benign behaviour (${s.behaviour})`, c.benignBehaviour, c.benignBehaviourRate),
  ]).filter((row) => row[5] !== null);
  const t = s.randomTest;
  rows.push(['random-mask test', s.masked.entries, 'permutation p (random masks cutting at least as much)', t.atLeastAsLarge, t.controls, t.p, null, null]);
  return csv(['condition', 'entries', 'measure', 'hits', 'n', 'rate', 'ci95_low', 'ci95_high'], rows);
}

/** One row per prompt: its baseline and masked label, answer verdict and output. */
export function evaluationPromptsCsv(s: StoredEvaluation): string {
  const verdict = (c: boolean | null) => (c === null ? null : c ? 'correct' : 'wrong');
  return csv(
    ['index', 'class', 'prompt', 'answer', 'baseline_label', 'baseline_answer', 'masked_label', 'masked_answer', 'changed', 'baseline_output', 'masked_output'],
    s.prompts.map((p: PromptOutcome) => [p.index, p.class, p.text, p.answer, p.baseline.label, verdict(p.baseline.correct), p.masked.label, verdict(p.masked.correct), p.changed, p.baseline.output, p.masked.output]),
  );
}

/** File name for an evaluation's export: evaluation-ID-SET-WHAT.EXT, with anything but letters, digits, . _ - replaced. */
export function evaluationFileName(s: Pick<StoredEvaluation, 'evaluationId' | 'setId'>, what: string, ext: string): string {
  return `evaluation-${s.evaluationId}-${s.setId}-${what}.${ext}`.replace(/[^\p{L}\p{N}._-]+/gu, '-');
}
