import type { ProbeSetCheck } from '../protocol/types.ts';
import { expandProbeSet } from './expand.ts';
import { parseProbeSet } from './load-probe-set.ts';
import type { ProbePrompt, ProbeSet } from './probe-set.ts';
import { ProbeSetError } from './problems.ts';

export type ProbeSetSummary = Extract<ProbeSetCheck, { ok: true }>;

/** A valid set's expansion in numbers: prompts per class (declared order) and in all. */
export function summarizeProbeSet(set: ProbeSet, prompts: ProbePrompt[] = expandProbeSet(set)): ProbeSetSummary {
  const counts = new Map(set.classes.map((c) => [c.id, 0]));
  for (const p of prompts) counts.set(p.class, (counts.get(p.class) ?? 0) + 1);
  return {
    ok: true, id: set.id, title: set.title, type: set.type, promptCount: prompts.length,
    classes: [...counts].map(([name, n]) => ({ class: name, prompts: n })),
  };
}

/**
 * Checks probe-set text as a file named `file` would be loaded (JSON or YAML by its extension): the summary, or the
 * problems the loader finds, each with its path and line. Any other error (none is expected) is thrown.
 */
export function checkProbeSetText(text: string, file: string): ProbeSetCheck {
  try {
    return summarizeProbeSet(parseProbeSet(text, file));
  } catch (err) {
    if (err instanceof ProbeSetError) return { ok: false, problems: err.problems, total: err.total };
    throw err;
  }
}
