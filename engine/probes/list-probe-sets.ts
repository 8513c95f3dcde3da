import fs from 'node:fs';
import path from 'node:path';
import { expandProbeSet } from './expand.ts';
import { loadProbeSet, PROBE_SET_EXTENSIONS } from './load-probe-set.ts';
import type { ProbeSet } from './probe-set.ts';

export interface ProbeSetSummary {
  file: string;
  id: string;
  title: string;
  type: ProbeSet['type'];
  /** Class ids in declaration order. */
  classes: string[];
  promptCount: number;
}

/** A file that failed to load; `error` is the loader's message (every problem, one per line). */
export interface ProbeSetListingError {
  file: string;
  error: string;
}

/**
 * The .json/.yaml/.yml entries directly in `dir`, by name, each summarised or with its error. Only a directory
 * that cannot be read throws.
 */
export function listProbeSets(dir: string): (ProbeSetSummary | ProbeSetListingError)[] {
  const names = fs.readdirSync(dir).filter((name) => PROBE_SET_EXTENSIONS.includes(path.extname(name).toLowerCase())).sort();
  return names.map((name) => {
    const file = path.join(dir, name);
    try {
      const set = loadProbeSet(file);
      return { file, id: set.id, title: set.title, type: set.type, classes: set.classes.map((c) => c.id), promptCount: expandProbeSet(set).length };
    } catch (err) {
      return { file, error: (err as Error).message };
    }
  });
}
