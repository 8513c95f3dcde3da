import type { DocPath, RawProblem } from './problems.ts';
import { parseTemplate, templateSlots } from './template-text.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const quoted = (names: string[]) => (names.length ? names.map((n) => `"${n}"`).join(', ') : 'none');

interface Checker {
  /** Declared class ids, in order, without duplicates. */
  classes: string[];
  add(path: DocPath, message: string): void;
  checkClass(path: DocPath, id: unknown): void;
}

/**
 * Cross-reference checks the schema cannot express. Written against an unvalidated document (skipping parts of
 * the wrong shape, which the schema reports) so that one pass lists every problem.
 */
export function semanticProblems(value: unknown): RawProblem[] {
  if (!isObj(value)) return [];
  const problems: RawProblem[] = [];
  const add = (path: DocPath, message: string) => problems.push({ path, message });
  const classIds: string[] = [];
  list(value.classes).forEach((c, i) => {
    if (!isObj(c) || typeof c.id !== 'string') return;
    const first = classIds.indexOf(c.id);
    if (first >= 0) add(['classes', i, 'id'], `"${c.id}" is already the id of classes[${first}]`);
    classIds.push(c.id);
  });
  const classes = [...new Set(classIds)];
  const checker: Checker = {
    classes,
    add,
    checkClass(path, id) {
      if (typeof id === 'string' && !classes.includes(id)) add(path, `"${id}" is not a class of this set (classes: ${quoted(classes)})`);
    },
  };
  if (value.type === 'templates') checkTemplates(value, checker);
  if (value.type === 'paired') checkPaired(value, checker);
  if (isObj(value.classifier)) checkClassifier(value.classifier, checker);
  return problems;
}

function checkTemplates(set: Obj, { classes, add, checkClass }: Checker) {
  const slots = isObj(set.slots) ? set.slots : {};
  for (const [name, slot] of Object.entries(slots)) {
    if (isObj(slot)) for (const id of Object.keys(slot)) checkClass(['slots', name, id], id);
  }
  list(set.templates).forEach((t, i) => {
    if (!isObj(t)) return;
    list(t.classes).forEach((id, j) => checkClass(['templates', i, 'classes', j], id));
    if (typeof t.text !== 'string') return;
    let slotNames: string[];
    try {
      slotNames = templateSlots(parseTemplate(t.text));
    } catch (err) {
      return add(['templates', i, 'text'], (err as Error).message);
    }
    const only = Array.isArray(t.classes) ? t.classes : undefined;
    const applies = only ? classes.filter((id) => only.includes(id)) : classes;
    for (const name of slotNames) {
      const slot = slots[name];
      if (!Object.hasOwn(slots, name)) {
        add(['templates', i, 'text'], `{${name}} has no slot (slots: ${quoted(Object.keys(slots))}; write {{ and }} for literal braces)`);
      } else if (isObj(slot)) {
        for (const id of applies) {
          if (!Object.hasOwn(slot, id)) add(['slots', name], `no values for class "${id}", which templates[${i}] is expanded for`);
        }
      }
    }
  });
}

function checkPaired(set: Obj, { classes, add, checkClass }: Checker) {
  list(set.items).forEach((item, i) => {
    if (!isObj(item) || !isObj(item.responses)) return;
    const responses = item.responses;
    const missing = classes.filter((id) => !Object.hasOwn(responses, id));
    if (missing.length) add(['items', i, 'responses'], `no response for class ${quoted(missing)}`);
    for (const id of Object.keys(responses)) checkClass(['items', i, 'responses', id], id);
  });
}

function checkClassifier(classifier: Obj, { classes, add }: Checker) {
  const labels = [...classes, ...list(classifier.labels)];
  const checkLabel = (path: DocPath, label: unknown) => {
    if (typeof label === 'string' && !labels.includes(label)) {
      add(path, `"${label}" is neither a class (${quoted(classes)}) nor listed in classifier.labels`);
    }
  };
  list(classifier.rules).forEach((rule, i) => {
    if (!isObj(rule)) return;
    checkLabel(['classifier', 'rules', i, 'label'], rule.label);
    list(rule.regex).forEach((source, j) => {
      if (typeof source !== 'string') return;
      try {
        new RegExp(source, 'i');
      } catch (err) {
        add(['classifier', 'rules', i, 'regex', j], (err as Error).message);
      }
    });
  });
  checkLabel(['classifier', 'otherwise'], classifier.otherwise);
}
