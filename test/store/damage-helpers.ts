/** Damaged database files for the tests of issue 11 case 5 (test/store/damage.test.ts, test/cli/mote-cli.test.ts). */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { openDatabase } from '../../engine/store/database.ts';
import { createRun, recordPrompt } from '../../engine/store/runs.ts';
import { CLASSES, newRun, randomPrompt } from './helpers.ts';

export const SHAPE = { moeLayers: [0, 1, 2, 3], numExperts: 16, topK: 2 };
export const PROMPTS = 200;

/** A closed database at `file` with one run (classes benign, harmful, neutral) of PROMPTS recorded prompts. */
export function damageFixture(file: string): { file: string; runId: number; prompts: ReturnType<typeof randomPrompt>[] } {
  const db = openDatabase(file);
  const run = newRun(SHAPE, PROMPTS * 2);
  const runId = createRun(db, { ...run, set: { ...run.set, classes: CLASSES.map((id) => ({ id })) } });
  const prompts = Array.from({ length: PROMPTS }, (_, idx) => randomPrompt(5, idx, SHAPE.moeLayers.length, SHAPE.topK, SHAPE.numExperts));
  for (const p of prompts) recordPrompt(db, runId, p, SHAPE.moeLayers, SHAPE.topK);
  db.close();
  return { file, runId, prompts };
}

export const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** Overwrites `length` bytes at `offset` with a pattern that is neither zeros nor what was there. */
export function damage(file: string, offset: number, length: number): void {
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.from(Array.from({ length }, (_, i) => (i * 37 + 11) & 0xff)), 0, length, offset);
  fs.closeSync(fd);
}

/** Where `bytes` sit in the file. */
export function offsetOf(file: string, bytes: Uint8Array): number {
  const at = fs.readFileSync(file).indexOf(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  assert.ok(at > 0, 'the BLOB is stored in one piece');
  return at;
}

/** The offset of a b-tree page of `table` of the given type (SQLite's dbstat), the middle one of those there are. */
export function pageOf(file: string, table: string, type: 'leaf' | 'internal'): number {
  const db = new Database(file, { readonly: true });
  const pages = db.prepare('SELECT pageno FROM dbstat WHERE name = ? AND pagetype = ? ORDER BY pageno').pluck().all(table, type) as number[];
  const size = db.pragma('page_size', { simple: true }) as number;
  db.close();
  assert.ok(pages.length > 0, `${table} has ${type} pages`);
  return (pages[Math.floor(pages.length / 2)] - 1) * size;
}
