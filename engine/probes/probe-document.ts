import path from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { ProbeSetError, type DocPath } from './problems.ts';

/** A parsed probe-set file: its value, and the line of any path in it (for error messages). */
export interface ProbeDocument {
  value: unknown;
  lineOf(at: DocPath): number | undefined;
}

/**
 * Parses JSON (strictly, by JSON.parse) or YAML according to the file's extension. Lines come from yaml's node
 * ranges in both cases, since YAML's flow syntax reads JSON too.
 */
export function parseProbeDocument(text: string, file: string): ProbeDocument {
  const json = path.extname(file).toLowerCase() === '.json';
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  let value: unknown;
  if (json) {
    try {
      value = JSON.parse(text);
    } catch (err) {
      const message = (err as Error).message;
      const at = /position (\d+)/.exec(message)?.[1] ?? (/end of JSON input/.test(message) ? text.length : undefined);
      const line = at === undefined ? undefined : lineCounter.linePos(Number(at)).line;
      throw new ProbeSetError(file, [{ path: '', line, message: `not valid JSON: ${message}` }]);
    }
  } else {
    if (doc.errors.length) {
      throw new ProbeSetError(file, doc.errors.map((e) => ({ path: '', line: lineCounter.linePos(e.pos[0]).line, message: `not valid YAML: ${e.message}` })));
    }
    value = doc.toJS();
  }
  const lineAt = (node: unknown) => {
    const range = (node as Node | null | undefined)?.range;
    return range ? lineCounter.linePos(range[0]).line : undefined;
  };
  return {
    value,
    lineOf(at) {
      let node: unknown = doc.contents;
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
