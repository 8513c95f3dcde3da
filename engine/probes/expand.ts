import type { PairedProbeSet, ProbePrompt, ProbeSet, SlotValue, TemplateProbeSet } from './probe-set.ts';
import { formatPath, type RawProblem } from './problems.ts';
import { parseTemplate, templateSlots, type TemplatePart } from './template-text.ts';

/**
 * Most prompts one probe set may expand to. Every prompt is a forward pass and a recorded row, and the engine
 * holds the whole expansion (and sends it to the UI with token counts), so a set is refused past this; the sets
 * shipped have under a hundred, and a day-long run on a small model is about this many.
 */
export const MAX_PROBE_PROMPTS = 100_000;
/**
 * Most characters of prompt text a set may expand to, all prompts together: a few placeholders with long values
 * can make each prompt large while their count stays modest. 100 000 prompts of 300 characters is 30 M.
 */
export const MAX_PROBE_TEXT_CHARS = 32_000_000;

/** The prompts one template gives one class: the slot sizes multiplied out, and the text that makes. */
export interface ExpansionPart {
  template: number;
  class: string;
  /** Slots in order of first appearance, with how many values each has for this class. */
  slots: { name: string; values: number }[];
  prompts: number;
  chars: number;
}

export interface ExpansionSize {
  prompts: number;
  chars: number;
  /** Template sets only: one part per template and class it is expanded for, in expansion order. */
  parts: ExpansionPart[];
}

/**
 * How many prompts (and characters of prompt text) a set accepted by the schema and cross-reference checks
 * expands to, computed from the slot sizes without expanding anything. Counts are floating point, so a set
 * that would expand to 10^30 prompts is counted, not overflowed.
 */
export function expansionSize(set: ProbeSet): ExpansionSize {
  if (set.type === 'paired') {
    const prompts = set.items.length * set.classes.length;
    const chars = set.items.reduce((a, item) => a + item.prompt.length, 0) * set.classes.length;
    return { prompts, chars, parts: [] };
  }
  const parts: ExpansionPart[] = [];
  set.templates.forEach((template, t) => {
    const pieces = parseTemplate(template.text);
    const names = templateSlots(pieces);
    const literal = pieces.reduce((a, p) => a + ('literal' in p ? p.literal.length : 0), 0);
    const uses = (name: string) => pieces.filter((p) => 'slot' in p && p.slot === name).length;
    for (const { id } of set.classes) {
      if (template.classes && !template.classes.includes(id)) continue;
      const lists = names.map((name) => valuesFor(set, name, id));
      const prompts = lists.reduce((a, l) => a * l.length, 1);
      // Each value of a slot appears in prompts / (its slot's size) prompts, once per use of the slot.
      const chars = prompts === 0 ? 0 : prompts * literal + names.reduce((a, name, i) =>
        a + uses(name) * (prompts / lists[i].length) * lists[i].reduce((s, v) => s + textOf(v).length, 0), 0);
      parts.push({ template: t, class: id, slots: names.map((name, i) => ({ name, values: lists[i].length })), prompts, chars });
    }
  });
  return { prompts: parts.reduce((a, p) => a + p.prompts, 0), chars: parts.reduce((a, p) => a + p.chars, 0), parts };
}

/**
 * Why a set may not be expanded: more prompts or more text than the limits, naming the template and the product of
 * slot sizes that exceeds them. Empty when it is within both.
 */
export function expansionProblems(set: ProbeSet): RawProblem[] {
  const size = expansionSize(set);
  if (size.prompts <= MAX_PROBE_PROMPTS && size.chars <= MAX_PROBE_TEXT_CHARS) return [];
  if (set.type === 'paired') {
    return size.prompts > MAX_PROBE_PROMPTS
      ? [{ path: ['items'], message: `${count(set.items.length)} items × ${count(set.classes.length)} classes = ${count(size.prompts)} prompts, more than the ${count(MAX_PROBE_PROMPTS)} a probe set may expand to` }]
      : [{ path: ['items'], message: `the prompts hold ${count(size.chars)} characters in all, more than the ${count(MAX_PROBE_TEXT_CHARS)} a probe set may expand to` }];
  }
  const problems: RawProblem[] = [];
  // One problem per template that is too large on its own, for its largest class.
  const byTemplate = new Map<number, ExpansionPart>();
  for (const part of size.parts) {
    const largest = byTemplate.get(part.template);
    if (!largest || part.prompts > largest.prompts || (part.prompts === largest.prompts && part.chars > largest.chars)) byTemplate.set(part.template, part);
  }
  for (const part of byTemplate.values()) {
    const classes = size.parts.filter((p) => p.template === part.template).length;
    const forClass = classes > 1 ? ` for class "${part.class}" (and is expanded for ${classes} classes)` : '';
    if (part.prompts > MAX_PROBE_PROMPTS) {
      problems.push({ path: ['templates', part.template, 'text'], message: `expands to ${describeProduct(part)} prompts${forClass}, more than the ${count(MAX_PROBE_PROMPTS)} a probe set may expand to` });
    } else if (part.chars > MAX_PROBE_TEXT_CHARS) {
      problems.push({ path: ['templates', part.template, 'text'], message: `expands to ${describeProduct(part)} prompts${forClass} holding ${count(part.chars)} characters, more than the ${count(MAX_PROBE_TEXT_CHARS)} a probe set may expand to` });
    }
  }
  if (problems.length) return problems;
  // No template is too large alone: the sum is. Name the largest contributors.
  const ranked = [...byTemplate.keys()].map((t) => {
    const mine = size.parts.filter((p) => p.template === t);
    return { t, prompts: mine.reduce((a, p) => a + p.prompts, 0), chars: mine.reduce((a, p) => a + p.chars, 0) };
  });
  const byPrompts = size.prompts > MAX_PROBE_PROMPTS;
  ranked.sort((a, b) => (byPrompts ? b.prompts - a.prompts : b.chars - a.chars));
  const shown = ranked.slice(0, 5).map((r) => `templates[${r.t}]: ${count(byPrompts ? r.prompts : r.chars)}`).join(', ');
  const rest = ranked.length > 5 ? `, and ${ranked.length - 5} more templates` : '';
  return [{
    path: ['templates'],
    message: byPrompts
      ? `the templates expand to ${count(size.prompts)} prompts in all (${shown}${rest}), more than the ${count(MAX_PROBE_PROMPTS)} a probe set may expand to`
      : `the prompts hold ${count(size.chars)} characters in all (${shown}${rest}), more than the ${count(MAX_PROBE_TEXT_CHARS)} a probe set may expand to`,
  }];
}

/** Throws, naming the set, when it may not be expanded (see expansionProblems). */
export function assertExpandable(set: ProbeSet, source = `probe set ${set.id}`): void {
  const problems = expansionProblems(set);
  if (problems.length) throw new Error(`${source}: ${problems.map((p) => `${formatPath(p.path)}: ${p.message}`).join('; ')}`);
}

/** The number of prompts a set expands to, without expanding it. */
export function promptCount(set: ProbeSet): number {
  return expansionSize(set).prompts;
}

/**
 * The prompts of a set that loadProbeSet accepted, in a fixed order, so `index` is stable for a given file.
 * Templates: template order, then class order (as declared in `classes`), then every combination of the
 * template's slots — slots taken in order of first appearance in the text, the last one varying fastest, values
 * in declaration order. A slot used twice in one template takes the same value both times. When several slots
 * carry an `answer`, the prompt's answer is that of the last such slot (by first appearance in the text).
 * Paired: item order, then class order, with the class's response; prompts are literal (no placeholders).
 * Refuses (before expanding anything) a set past MAX_PROBE_PROMPTS or MAX_PROBE_TEXT_CHARS.
 */
export function expandProbeSet(set: ProbeSet): ProbePrompt[] {
  assertExpandable(set);
  return set.type === 'paired' ? expandPaired(set) : expandTemplates(set);
}

function expandTemplates(set: TemplateProbeSet): ProbePrompt[] {
  const prompts: ProbePrompt[] = [];
  for (const template of set.templates) {
    const parts = parseTemplate(template.text);
    const names = templateSlots(parts);
    for (const { id } of set.classes) {
      if (template.classes && !template.classes.includes(id)) continue;
      const lists = names.map((name) => valuesFor(set, name, id));
      for (const values of product(lists)) {
        const texts = Object.fromEntries(names.map((name, i) => [name, textOf(values[i])]));
        const answer = values.map(answerOf).filter((a) => a !== undefined).at(-1);
        prompts.push({
          index: prompts.length,
          class: id,
          text: fill(parts, texts),
          ...(answer === undefined ? {} : { answer }),
          template: template.text,
          slots: texts,
        });
      }
    }
  }
  return prompts;
}

function expandPaired(set: PairedProbeSet): ProbePrompt[] {
  return set.items.flatMap((item) => set.classes.map(({ id }) => ({ class: id, text: item.prompt, response: item.responses[id] })))
    .map((prompt, index) => ({ index, ...prompt }));
}

function valuesFor(set: TemplateProbeSet, name: string, classId: string): SlotValue[] {
  const slot = set.slots[name];
  return Array.isArray(slot) ? slot : slot[classId];
}

const fill = (parts: TemplatePart[], texts: Record<string, string>) => parts.map((p) => ('literal' in p ? p.literal : texts[p.slot])).join('');
const textOf = (v: SlotValue) => (typeof v === 'string' ? v : v.text);
const answerOf = (v: SlotValue) => (typeof v === 'string' ? undefined : v.answer);

function describeProduct(part: ExpansionPart): string {
  const factors = part.slots.map((s) => `{${clipName(s.name)}} ${count(s.values)}`);
  const shown = factors.length > 8 ? [...factors.slice(0, 8), `… (${factors.length} slots)`] : factors;
  return `${shown.join(' × ')} = ${count(part.prompts)}`;
}

const clipName = (name: string) => (name.length > 40 ? `${name.slice(0, 39)}…` : name);

/** A count for messages: grouped digits, or powers of ten past what integers say exactly. */
function count(n: number): string {
  return n < 1e15 ? Math.round(n).toLocaleString('en') : n.toExponential(2).replace('e+', 'e');
}

function* product<T>(lists: T[][]): Generator<T[]> {
  if (!lists.length) {
    yield [];
    return;
  }
  const [first, ...rest] = lists;
  for (const v of first) for (const tail of product(rest)) yield [v, ...tail];
}
