import fs from 'node:fs';
import path from 'node:path';
import { promptCount } from './expand.ts';
import { loadProbeSetAsync, PROBE_SET_EXTENSIONS } from './load-probe-set.ts';
import type { ProbeSet } from './probe-set.ts';

export interface ProbeSetSummary {
  file: string;
  id: string;
  title: string;
  type: ProbeSet['type'];
  /** Class ids in declaration order. */
  classes: string[];
  /** Counted from the slot sizes: listing never expands a set. */
  promptCount: number;
}

/** A file that failed to load; `error` is the loader's message (every problem, one per line). */
export interface ProbeSetListingError {
  file: string;
  error: string;
}

/** Files summarised per listing; a folder with more gets one error entry saying how many were left out. */
export const MAX_LISTED_SETS = 1000;

/**
 * The .json/.yaml/.yml entries directly in `dir`, by name, each summarised or with its error. Files are read
 * one at a time without blocking (each a regular file within MAX_PROBE_SET_BYTES, see load-probe-set.ts), and
 * sets are counted, never expanded, so one oversized or unreadable file costs a line, not the listing. Only a
 * directory that cannot be read throws.
 */
export async function listProbeSets(dir: string): Promise<(ProbeSetSummary | ProbeSetListingError)[]> {
  const names = (await fs.promises.readdir(dir)).filter((name) => PROBE_SET_EXTENSIONS.includes(path.extname(name).toLowerCase())).sort();
  const listing: (ProbeSetSummary | ProbeSetListingError)[] = [];
  for (const name of names.slice(0, MAX_LISTED_SETS)) {
    const file = path.join(dir, name);
    try {
      const set = await loadProbeSetAsync(file);
      listing.push({ file, id: set.id, title: set.title, type: set.type, classes: set.classes.map((c) => c.id), promptCount: promptCount(set) });
    } catch (err) {
      listing.push({ file, error: (err as Error).message });
    }
  }
  if (names.length > MAX_LISTED_SETS) {
    listing.push({ file: dir, error: `${dir}: ${names.length - MAX_LISTED_SETS} more probe-set files were not listed (at most ${MAX_LISTED_SETS} are)` });
  }
  return listing;
}
