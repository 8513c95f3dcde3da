import type { AnswerMatchMode } from '../protocol/types.ts';
/**
 * Probe-set files (probes/*.json or *.yaml), DESIGN §7. Two types:
 * - "templates": every template is expanded with every combination of its slots' values, per class. A slot's
 *   values are either one list shared by all classes or a list per class; a value is a string or
 *   {text, answer} where `answer` is the expected answer used to score benign accuracy.
 * - "paired" (SteerMoE style): one prompt with one teacher-forced response per class.
 */
export type SlotValue = string | { text: string; answer?: string };

export interface ProbeClass {
  id: string;
  description?: string;
}

/**
 * Labels an output: the first rule whose phrases (case-insensitive substrings) or regexes (JavaScript, flag i)
 * match gives its label, else `otherwise`. Every label is a class of the set or listed in `labels`.
 */
export interface OutputClassifier {
  rules: { label: string; phrases?: string[]; regex?: string[] }[];
  otherwise: string;
  /** Output labels that are not prompt classes, e.g. `refused`/`answered` for prompts classed
   * `sensitive`/`neutral`. Declaring them keeps a misspelt label from silently becoming a new one. */
  labels?: string[];
  /** How expected answers are matched for benign accuracy (engine/probes/classify.ts); default `contains`. */
  answerMatch?: AnswerMatchMode;
}

interface ProbeSetBase {
  id: string;
  title: string;
  description?: string;
  classes: ProbeClass[];
  /** Wrap each prompt as a user message in the model's chat template (default true). */
  chat?: boolean;
  classifier?: OutputClassifier;
}

export interface TemplateProbeSet extends ProbeSetBase {
  type: 'templates';
  /** Templates with {slot} placeholders (`{{` and `}}` are literal braces); `classes` limits a template to some
   * classes (default all). Expansion order: engine/probes/expand.ts. */
  templates: { text: string; classes?: string[] }[];
  slots: Record<string, SlotValue[] | Record<string, SlotValue[]>>;
}

export interface PairedProbeSet extends ProbeSetBase {
  type: 'paired';
  items: { prompt: string; responses: Record<string, string> }[];
}

export type ProbeSet = TemplateProbeSet | PairedProbeSet;

/** One prompt to run, after expansion. */
export interface ProbePrompt {
  /** Position in the expanded set; stable for a given file, so runs can resume by index. */
  index: number;
  class: string;
  /** The user text (before any chat template). */
  text: string;
  /** Teacher-forced response (paired sets). */
  response?: string;
  /** Expected answer for benign-accuracy scoring; when several slot values carry one, the last slot's in the text. */
  answer?: string;
  /** The template and slot values it came from (for display). */
  template?: string;
  slots?: Record<string, string>;
}
