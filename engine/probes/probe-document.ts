import path from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { ProbeSetError, type DocPath } from './problems.ts';

/** A parsed probe-set file: its value, and the line of any path in it (for error messages). */
export interface ProbeDocument {
  value: unknown;
  lineOf(at: DocPath): number | undefined;
}

/**
 * Parses JSON (strictly, by JSON.parse) or YAML according to the file's extension. Lines come from yaml's node
 * ranges in both cases, since YAML's flow syntax reads JSON too; for JSON that parse (seconds for a few MiB) is
 * made only when a line is asked for, i.e. when the set has problems to report.
 */
export function parseProbeDocument(text: string, file: string): ProbeDocument {
  const json = path.extname(file).toLowerCase() === '.json';
  const lineCounter = new LineCounter();
  let parsed: Document.Parsed | undefined;
  const doc = () => (parsed ??= parseDocument(text, { lineCounter, prettyErrors: false }));
  let value: unknown;
  if (json) {
    try {
      value = JSON.parse(text);
    } catch (err) {
      const message = (err as Error).message;
      const at = /position (\d+)/.exec(message)?.[1] ?? (/end of JSON input/.test(message) ? text.length : undefined);
      const line = at === undefined ? undefined : lineAtOffset(text, Number(at));
      throw new ProbeSetError(file, [{ path: '', line, message: `not valid JSON: ${message}` }]);
    }
  } else {
    if (doc().errors.length) {
      throw new ProbeSetError(file, doc().errors.map((e) => ({ path: '', line: lineCounter.linePos(e.pos[0]).line, message: `not valid YAML: ${e.message}` })));
    }
    try {
      // Aliases past yaml's limit (a "billion laughs" file) and unresolved ones throw here.
      value = doc().toJS();
    } catch (err) {
      throw new ProbeSetError(file, [{ path: '', message: `not valid YAML: ${(err as Error).message}` }]);
    }
  }
  const lineAt = (node: unknown) => {
    const range = (node as Node | null | undefined)?.range;
    return range ? lineCounter.linePos(range[0]).line : undefined;
  };
  return {
    value,
    lineOf(at) {
      let node: unknown = doc().contents;
      let line = lineAt(node);
      for (const seg of at) {
        if (isMap(node)) {
          const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
          if (!pair) break;
          line = lineAt(pair.key) ?? line;
          node = pair.value;
        } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
          node = node.items[seg];
          line = lineAt(node) ?? line;
        } else break;
      }
      return line;
    },
  };
}

/** 1-based line of a character offset. */
function lineAtOffset(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
