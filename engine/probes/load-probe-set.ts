import fs from 'node:fs';
import path from 'node:path';
import { semanticProblems } from './check-probe-set.ts';
import { parseProbeDocument } from './probe-document.ts';
import type { ProbeSet } from './probe-set.ts';
import { formatPath, ProbeSetError, type ProbeSetProblem } from './problems.ts';
import { schemaProblems } from './schema-problems.ts';

export const PROBE_SET_EXTENSIONS = ['.json', '.yaml', '.yml'];

/** Reads and validates a probe-set file; throws a ProbeSetError listing every problem. */
export function loadProbeSet(file: string): ProbeSet {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ProbeSetError(file, [{ path: '', message: `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` }]);
  }
  return parseProbeSet(text, file);
}

/**
 * Validates probe-set text: JSON or YAML by the extension of `file`, which also names the source in errors.
 * The schema's checks and the cross-reference checks run together, so every problem is reported at once, in
 * line order. A `$schema` property (for editors) is accepted and dropped.
 */
export function parseProbeSet(text: string, file: string): ProbeSet {
  if (!PROBE_SET_EXTENSIONS.includes(path.extname(file).toLowerCase())) {
    throw new ProbeSetError(file, [{ path: '', message: `a probe set is a ${PROBE_SET_EXTENSIONS.join(', ')} file` }]);
  }
  const doc = parseProbeDocument(text, file);
  const seen = new Set<string>();
  const problems: ProbeSetProblem[] = [];
  for (const raw of [...schemaProblems(doc.value), ...semanticProblems(doc.value)]) {
    const problem = { path: formatPath(raw.path), line: doc.lineOf(raw.path), message: raw.message };
    const key = `${problem.path}\n${problem.message}`;
    if (!seen.has(key)) problems.push(problem);
    seen.add(key);
  }
  if (problems.length) {
    throw new ProbeSetError(file, problems.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity)));
  }
  const { $schema: _editorHint, ...set } = doc.value as ProbeSet & { $schema?: string };
  return set as ProbeSet;
}
