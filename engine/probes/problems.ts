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

/** A probe-set file that cannot be used; lists every problem found, one per line of `message`. */
export class ProbeSetError extends Error {
  constructor(readonly file: string, readonly problems: ProbeSetProblem[]) {
    super(problems.map((p) => `${file}${p.line ? `:${p.line}` : ''}: ${p.path ? `${p.path}: ` : ''}${p.message}`).join('\n'));
    this.name = 'ProbeSetError';
  }
}

export function formatPath(path: DocPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}
