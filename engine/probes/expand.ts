import type { PairedProbeSet, ProbePrompt, ProbeSet, SlotValue, TemplateProbeSet } from './probe-set.ts';
import { parseTemplate, templateSlots } from './template-text.ts';

/**
 * The prompts of a set that loadProbeSet accepted, in a fixed order, so `index` is stable for a given file.
 * Templates: template order, then class order (as declared in `classes`), then every combination of the
 * template's slots — slots taken in order of first appearance in the text, the last one varying fastest, values
 * in declaration order. A slot used twice in one template takes the same value both times. When several slots
 * carry an `answer`, the prompt's answer is that of the last such slot (by first appearance in the text).
 * Paired: item order, then class order, with the class's response; prompts are literal (no placeholders).
 */
export function expandProbeSet(set: ProbeSet): ProbePrompt[] {
  return set.type === 'paired' ? expandPaired(set) : expandTemplates(set);
}

function expandTemplates(set: TemplateProbeSet): ProbePrompt[] {
  const prompts: ProbePrompt[] = [];
  for (const template of set.templates) {
    const parts = parseTemplate(template.text);
    const names = templateSlots(parts);
    for (const { id } of set.classes) {
      if (template.classes && !template.classes.includes(id)) continue;
      const lists = names.map((name) => {
        const slot = set.slots[name];
        return Array.isArray(slot) ? slot : slot[id];
      });
      for (const values of product(lists)) {
        const texts = Object.fromEntries(names.map((name, i) => [name, textOf(values[i])]));
        const answer = values.map(answerOf).filter((a) => a !== undefined).at(-1);
        prompts.push({
          index: prompts.length,
          class: id,
          text: parts.map((p) => ('literal' in p ? p.literal : texts[p.slot])).join(''),
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

const textOf = (v: SlotValue) => (typeof v === 'string' ? v : v.text);
const answerOf = (v: SlotValue) => (typeof v === 'string' ? undefined : v.answer);

function* product<T>(lists: T[][]): Generator<T[]> {
  if (!lists.length) {
    yield [];
    return;
  }
  const [first, ...rest] = lists;
  for (const v of first) for (const tail of product(rest)) yield [v, ...tail];
}
