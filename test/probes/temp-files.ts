import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Writes `text` to a file called `name` in a new temporary folder; returns its path. */
export function writeTemp(name: string, text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mote-probes-')), name);
  fs.writeFileSync(file, text);
  return file;
}

/** 1-based line of the first occurrence of `needle` in `text`. */
export function lineOf(text: string, needle: string): number {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`${needle} not in text`);
  return text.slice(0, at).split('\n').length;
}
