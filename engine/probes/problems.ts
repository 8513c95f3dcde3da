import { clip, MAX_LISTED_PROBLEMS } from './inputs.ts';

/** A location inside a probe-set document: property names and list indices from the root. */
export type DocPath = (string | number)[];

/** A problem before it is given a line: the path as found. */
export interface RawProblem {
  path: DocPath;
  message: string;
}

export interface ProbeSetProblem {
  /** e.g. `templates[2].text`; empty for the whole document. */
  path: string;
  /** 1-based line in the file, when known. */
  line?: number;
  message: string;
}

/**
 * A probe-set file that cannot be used; lists its problems, one per line of `message`: the first
 * MAX_LISTED_PROBLEMS (path and problem clipped), then how many more.
 */
export class ProbeSetError extends Error {
  /** `total`: how many problems were found, when `problems` holds only the first of them. */
  constructor(readonly file: string, readonly problems: ProbeSetProblem[], readonly total = problems.length) {
    const lines = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => `${file}${p.line ? `:${p.line}` : ''}: ${p.path ? `${clip(oneLine(p.path), 120)}: ` : ''}${clip(oneLine(p.message))}`);
    const more = total - lines.length;
    if (more > 0) lines.push(`${file}: … and ${more.toLocaleString('en')} more problem${more === 1 ? '' : 's'}`);
    super(lines.join('\n'));
    this.name = 'ProbeSetError';
  }
}

/** Line breaks (from a parser echoing the text, or a key) would start a line that names no file. */
const oneLine = (text: string) => text.replace(/[\r\n\u2028\u2029]+/g, ' ');

export function formatPath(path: DocPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}
