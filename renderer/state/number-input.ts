/** What a numeric field accepts; `label` names the field in messages. */
export interface NumberBounds {
  label: string;
  min: number;
  max: number;
  /** Whole numbers only. */
  integer: boolean;
}

/** A field's typed text that is not a value it accepts, and why (the message names the field). */
export interface FieldDraft {
  text: string;
  problem: string;
}

/**
 * null when `text` is a number the field accepts, else what is wrong with it. Values are never clamped or rounded:
 * the caller keeps the last accepted value and refuses to run while a field holds a problem.
 */
export function numberProblem(text: string, b: NumberBounds): string | null {
  const t = text.trim();
  if (t === '') return `${b.label}: enter a number (${b.min}–${b.max})`;
  const v = Number(t);
  if (!Number.isFinite(v)) return `${b.label}: "${t}" is not a number`;
  if (b.integer && !Number.isInteger(v)) return `${b.label}: must be a whole number, not ${t}`;
  if (v < b.min) return `${b.label}: ${t} is below the minimum, ${b.min}`;
  if (v > b.max) return `${b.label}: ${t} is above the maximum, ${b.max}`;
  return null;
}

/** Store keys of numeric fields; fields bound to one setting share a key (Steering's and Compare's max tokens). */
export const FIELD = {
  topN: 'steering.topN',
  genMaxTokens: 'gen.maxTokens',
  genSeed: 'gen.seed',
  genTemperature: 'gen.temperature',
  evalRandom: 'evaluation.randomControls',
  evalDose: 'evaluation.dose',
  evalMaxTokens: 'evaluation.maxTokens',
  probeGenerate: 'probes.generateTokens',
} as const;

export type FieldKey = (typeof FIELD)[keyof typeof FIELD];

/** The fields each action runs with. */
export const GEN_FIELDS: readonly FieldKey[] = [FIELD.genMaxTokens, FIELD.genSeed, FIELD.genTemperature];
export const EVAL_FIELDS: readonly FieldKey[] = [FIELD.evalRandom, FIELD.evalDose, FIELD.evalMaxTokens];
