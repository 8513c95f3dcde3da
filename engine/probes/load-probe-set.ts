import { semanticProblems } from './check-probe-set.ts';
import { expansionProblems } from './expand.ts';
import { extensionProblem, InputFileError, readInputFile, readInputFileSync, type InputFileRules } from './inputs.ts';
import { parseProbeDocument } from './probe-document.ts';
import type { ProbeSet } from './probe-set.ts';
import { formatPath, ProbeSetError, type ProbeSetProblem, type RawProblem } from './problems.ts';
import { schemaProblems } from './schema-problems.ts';

export const PROBE_SET_EXTENSIONS = ['.json', '.yaml', '.yml'];
/**
 * Largest probe-set file read. The sets shipped are under 6 KiB; a paired set of ten thousand items with
 * sentence-long responses is about 1.5 MiB. The cap bounds what a request can make the engine parse and echo back
 * in errors: YAML (and the line numbers of a JSON set's problems) parse at about 1 s per MiB, on the engine's
 * thread; a valid JSON set of 2 MiB takes about 0.15 s.
 */
export const MAX_PROBE_SET_BYTES = 2 * 1024 * 1024;

/** Problems given a line and sorted by it; an error lists the first of these, and counts all. */
const PLACED_PROBLEMS = 1000;

export const PROBE_SET_FILE: InputFileRules = { what: 'a probe set', extensions: PROBE_SET_EXTENSIONS, maxBytes: MAX_PROBE_SET_BYTES };

/**
 * Reads and validates a probe-set file (synchronously: for the command line); throws a ProbeSetError listing every
 * problem. Only a regular .json/.yaml/.yml file of at most MAX_PROBE_SET_BYTES is read (see inputs.ts).
 */
export function loadProbeSet(file: string): ProbeSet {
  let text: string;
  try {
    text = readInputFileSync(file, PROBE_SET_FILE);
  } catch (err) {
    throw asProbeSetError(file, err);
  }
  return parseProbeSet(text, file);
}

/** loadProbeSet without blocking the event loop on the read: for the engine host. */
export async function loadProbeSetAsync(file: string): Promise<ProbeSet> {
  let text: string;
  try {
    text = await readInputFile(file, PROBE_SET_FILE);
  } catch (err) {
    throw asProbeSetError(file, err);
  }
  return parseProbeSet(text, file);
}

function asProbeSetError(file: string, err: unknown): ProbeSetError {
  const message = err instanceof InputFileError ? err.reason : `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  return new ProbeSetError(file, [{ path: '', message }]);
}

/**
 * Validates probe-set text: JSON or YAML by the extension of `file`, which also names the source in errors.
 * The schema's checks and the cross-reference checks run together, so every problem is reported at once, in
 * line order; a set that passes them is then refused if it would expand past MAX_PROBE_PROMPTS prompts or
 * MAX_PROBE_TEXT_CHARS characters (expand.ts), counted from its slot sizes. A `$schema` property (for editors)
 * is accepted and dropped.
 */
export function parseProbeSet(text: string, file: string): ProbeSet {
  const wrongExtension = extensionProblem(file, PROBE_SET_FILE);
  if (wrongExtension) throw new ProbeSetError(file, [{ path: '', message: wrongExtension }]);
  if (text.length > MAX_PROBE_SET_BYTES) {
    throw new ProbeSetError(file, [{ path: '', message: `holds ${text.length.toLocaleString('en')} characters; a probe set may be at most ${MAX_PROBE_SET_BYTES.toLocaleString('en')}` }]);
  }
  const doc = parseProbeDocument(text, file);
  let raws: RawProblem[] = [...schemaProblems(doc.value), ...semanticProblems(doc.value)];
  if (!raws.length) raws = expansionProblems(doc.value as ProbeSet);
  if (raws.length) {
    // Finding a problem's line walks the document, so only the first ones (which are reported) are placed.
    const seen = new Set<string>();
    const unique = raws.filter((raw) => {
      const key = `${formatPath(raw.path)}\n${raw.message}`;
      return !seen.has(key) && Boolean(seen.add(key));
    });
    const placed: ProbeSetProblem[] = unique.slice(0, PLACED_PROBLEMS)
      .map((raw) => ({ path: formatPath(raw.path), line: doc.lineOf(raw.path), message: raw.message }));
    throw new ProbeSetError(file, placed.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity)), unique.length);
  }
  const { $schema: _editorHint, ...set } = doc.value as ProbeSet & { $schema?: string };
  return set as ProbeSet;
}
