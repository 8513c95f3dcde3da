import Database from 'better-sqlite3';
import { describeCorruption, isCorruptionError } from './damage.ts';
import { SCHEMA_VERSION } from './migrations/index.ts';
import { float32FromBlob, float64FromBlob, int16FromBlob, int32FromBlob } from './routing-blobs.ts';
import { countSpans, SPANS } from './span-counts.ts';
import { blobProblem, routingProblem, shapeProblem, spanCountsProblem, type RunShape } from './verify.ts';

/** One damaged thing: a run's row, a prompt, a count row, an evaluation, or a table that cannot be read. */
export interface DamagedItem {
  /** null for a table or an evaluation. */
  runId: number | null;
  /** e.g. "prompt 17", "prompt counts of class \"harmful\"", "the prompts table". */
  what: string;
  problem: string;
}

export interface CheckReport {
  file: string;
  schemaVersion: number;
  ok: boolean;
  /** PRAGMA integrity_check's findings (at most 100); [] when it says ok. */
  integrity: string[];
  runs: number;
  prompts: number;
  /** Runs with at least one damaged item, in id order. */
  damagedRuns: number[];
  damaged: DamagedItem[];
  /** Whether the BLOBs were checked against CRC32s (schema 3 on; older files have none until they are opened). */
  checksums: boolean;
}

const MAX_INTEGRITY_PROBLEMS = 100;

/**
 * `mote db check`: reads the whole file without writing to it (opened read-only, never migrated). SQLite's
 * integrity_check, then every run's shape, every prompt's BLOBs against their CRC32s and its routing against its
 * run, every count row against its CRC32s and against the counts the run's routing adds up to, every evaluation's
 * JSON. Each row is read on its own, so a damaged page is charged to the rows on it and the rest are still checked.
 */
export function checkDatabase(file: string): CheckReport {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    // One read transaction: a run recording meanwhile (in WAL mode) cannot make counts and routing disagree.
    db.exec('BEGIN');
    return check(db, file);
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
  }
}

function check(db: Database.Database, file: string): CheckReport {
  const report: CheckReport = { file, schemaVersion: 0, ok: false, integrity: [], runs: 0, prompts: 0, damagedRuns: [], damaged: [], checksums: false };
  const attempt = <T>(fail: (problem: string) => void, read: () => T): T | undefined => {
    try {
      return read();
    } catch (err) {
      // Whatever a damaged row makes go wrong is charged to it: SQLite's corruption errors, JSON that does not
      // parse, a BLOB whose length no typed array fits.
      // Other SQLite errors (a lock, an I/O error) say nothing about the row: they end the check.
      if (isCorruptionError(err)) fail(describeCorruption(err));
      else if (String((err as { code?: unknown }).code).startsWith('SQLITE_')) throw err;
      else if (err instanceof SyntaxError) fail(`stored JSON does not parse (${err.message})`);
      else fail((err as Error).message);
      return undefined;
    }
  };
  const add = (runId: number | null, what: string) => (problem: string) => void report.damaged.push({ runId, what, problem });

  const version = attempt((p) => report.integrity.push(p), () => db.pragma('user_version', { simple: true }) as number);
  if (version === undefined) return finish(report);
  report.schemaVersion = version;
  if (version > SCHEMA_VERSION) {
    throw new Error(`${file}: the database has schema version ${version}, newer than this version of MoTE Studio supports (${SCHEMA_VERSION}); check it with a newer MoTE Studio`);
  }
  // integrity_check gives up with SQLITE_CORRUPT on some damage that quick_check still describes page by page.
  const integrity = attempt(() => undefined, () => db.pragma(`integrity_check(${MAX_INTEGRITY_PROBLEMS})`, { simple: false }) as Record<string, string>[])
    ?? attempt((p) => report.integrity.push(p), () => db.pragma(`quick_check(${MAX_INTEGRITY_PROBLEMS})`, { simple: false }) as Record<string, string>[]);
  const findings = (integrity ?? []).flatMap((row) => Object.values(row)).flatMap((text) => text.split('\n')).filter((t) => t && t !== '*** in database main ***');
  if (!(findings.length === 1 && findings[0] === 'ok')) report.integrity.push(...findings);
  const tables = new Set(attempt(add(null, 'the schema'), () => db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all() as string[]) ?? []);
  if (!tables.has('runs') || !tables.has('prompts')) {
    if (version !== 0 || tables.size > 0) add(null, 'the schema')(`tables runs and prompts are missing (tables: ${[...tables].join(', ') || 'none'})`);
    return finish(report);
  }
  report.checksums = tables.has('prompt_crcs');

  // Runs.
  const shapes = new Map<number, RunShape | null>();
  const runIds = attempt(add(null, 'the runs table'), () => db.prepare('SELECT id FROM runs ORDER BY id').pluck().all() as number[]) ?? [];
  report.runs = runIds.length;
  const readRun = db.prepare('SELECT moe_layers, num_experts, top_k, model_json, set_json, mask_json FROM runs WHERE id = ?');
  for (const id of runIds) {
    const fail = add(id, 'the run');
    const shape = attempt(fail, () => {
      const row = readRun.get(id) as { moe_layers: string; num_experts: number; top_k: number; model_json: string; set_json: string; mask_json: string | null };
      for (const json of [row.model_json, row.set_json, row.mask_json]) if (json !== null) JSON.parse(json);
      return { moeLayers: JSON.parse(row.moe_layers) as number[], numExperts: row.num_experts, topK: row.top_k };
    });
    const problem = shape && shapeProblem(shape);
    if (problem) fail(problem);
    shapes.set(id, shape && !problem ? shape : null);
  }

  // Prompts, and the counts their routing adds up to.
  const recounted = new Map<string, { tokens: number; prompts: number; hits: Int32Array; rateSums: Float64Array }>();
  const recountable = new Set<number>(runIds);
  const crcColumns = report.checksums
    ? ', c.selected AS selected_crc, c.token_ids AS token_ids_crc, c.weights AS weights_crc, c.router_logits AS router_logits_crc, c.run_id AS has_crcs'
    : '';
  const readPrompt = db.prepare(`
    SELECT p.class, p.prompt_tokens, p.token_ids, p.selected, p.weights, p.router_logits${crcColumns}
    FROM prompts p ${report.checksums ? 'LEFT JOIN prompt_crcs c ON c.run_id = p.run_id AND c.idx = p.idx' : ''}
    WHERE p.run_id = ? AND p.idx = ?
  `);
  const promptRuns = attempt(add(null, 'the prompts table'), () => db.prepare('SELECT DISTINCT run_id FROM prompts').pluck().all() as number[]) ?? runIds;
  for (const runId of new Set([...runIds, ...promptRuns])) {
    const indices = attempt(add(runId, 'the list of its prompts'), () => db.prepare('SELECT idx FROM prompts WHERE run_id = ? ORDER BY idx').pluck().all(runId) as number[]);
    if (!indices) {
      recountable.delete(runId);
      continue;
    }
    report.prompts += indices.length;
    const shape = shapes.get(runId);
    if (shape === undefined && indices.length) add(runId, `its ${indices.length} prompts`)('they belong to no run');
    for (const idx of indices) {
      const fail = (problem: string) => {
        add(runId, `prompt ${idx}`)(problem);
        recountable.delete(runId);
      };
      attempt(fail, () => {
        const row = readPrompt.get(runId, idx) as {
          class: string; prompt_tokens: number; token_ids: Buffer; selected: Buffer; weights: Buffer; router_logits: Buffer | null;
          selected_crc?: number | null; token_ids_crc?: number | null; weights_crc?: number | null; router_logits_crc?: number | null; has_crcs?: number | null;
        };
        if (report.checksums) {
          const problem = (row.has_crcs === null ? 'its checksums are missing' : null)
            ?? blobProblem('selected', row.selected, row.selected_crc!)
            ?? blobProblem('token_ids', row.token_ids, row.token_ids_crc!)
            ?? blobProblem('weights', row.weights, row.weights_crc!)
            ?? blobProblem('router_logits', row.router_logits, row.router_logits_crc!);
          if (problem) return fail(problem);
        }
        if (!shape) return recountable.delete(runId);
        const selected = int16FromBlob(row.selected);
        const problem = routingProblem(shape, {
          promptTokens: row.prompt_tokens, tokenIds: int32FromBlob(row.token_ids), selected, weights: float32FromBlob(row.weights),
          routerLogits: row.router_logits && float32FromBlob(row.router_logits),
        });
        if (problem) return fail(problem);
        const L = shape.moeLayers.length;
        for (const { span, tokens, hits } of countSpans(selected, row.prompt_tokens, L, shape.topK, shape.numExperts)) {
          const key = JSON.stringify([runId, span, row.class]);
          const sum = recounted.get(key) ?? { tokens: 0, prompts: 0, hits: new Int32Array(hits.length), rateSums: new Float64Array(hits.length) };
          sum.tokens += tokens;
          if (tokens > 0) sum.prompts++;
          for (let i = 0; i < hits.length; i++) {
            sum.hits[i] += hits[i];
            if (tokens > 0) sum.rateSums[i] += hits[i] / tokens;
          }
          recounted.set(key, sum);
        }
      });
    }
  }

  // Count rows (schema 2 on).
  if (tables.has('span_counts')) {
    const crcs = report.checksums ? 'hits_crc, rate_sums_crc, ' : '';
    const readCounts = db.prepare(`SELECT tokens, prompts, ${crcs}hits, rate_sums FROM span_counts WHERE run_id = ? AND span = ? AND class = ?`);
    const keys = attempt(add(null, 'the span_counts table'), () => db.prepare('SELECT run_id, span, class FROM span_counts ORDER BY run_id, span, class').raw().all() as [number, string, string][]);
    const seen = new Set<string>();
    for (const [runId, span, cls] of keys ?? []) {
      const key = JSON.stringify([runId, span, cls]);
      seen.add(key);
      const fail = add(runId, `${span} counts of class ${JSON.stringify(cls)}`);
      attempt(fail, () => {
        const row = readCounts.get(runId, span, cls) as { tokens: number; prompts: number; hits_crc?: number; rate_sums_crc?: number; hits: Buffer; rate_sums: Buffer };
        if (report.checksums) {
          const problem = blobProblem('hits', row.hits, row.hits_crc!) ?? blobProblem('rate_sums', row.rate_sums, row.rate_sums_crc!);
          if (problem) return fail(problem);
        }
        const shape = shapes.get(runId);
        if (shape === undefined) return fail('it belongs to no run');
        if (!shape) return;
        const counts = { tokens: row.tokens, prompts: row.prompts, hits: int32FromBlob(row.hits), rateSums: float64FromBlob(row.rate_sums) };
        const problem = spanCountsProblem(shape, counts);
        if (problem) return fail(problem);
        if (!recountable.has(runId)) return;
        const expected = recounted.get(key);
        const mismatch = expected ? countsMismatch(counts, expected) : counts.tokens > 0 || counts.prompts > 0 ? `${counts.tokens} tokens, but no recorded prompt of the class` : null;
        if (mismatch) fail(`it disagrees with the recorded routing: ${mismatch}`);
      });
    }
    // Rows missing from a table that could not be listed are not missing.
    for (const key of keys ? recounted.keys() : []) {
      const [runId, span, cls] = JSON.parse(key) as [number, string, string];
      if (!seen.has(key) && recountable.has(runId) && SPANS.includes(span as never)) add(runId, `${span} counts of class ${JSON.stringify(cls)}`)('the row is missing');
    }
  }

  // Evaluations.
  if (tables.has('evaluations')) {
    const ids = attempt(add(null, 'the evaluations table'), () => db.prepare('SELECT id FROM evaluations ORDER BY id').pluck().all() as number[]) ?? [];
    const read = db.prepare('SELECT mask_json, result_json FROM evaluations WHERE id = ?');
    for (const id of ids) {
      attempt(add(null, `evaluation ${id}`), () => {
        const row = read.get(id) as { mask_json: string; result_json: string };
        JSON.parse(row.mask_json);
        JSON.parse(row.result_json);
      });
    }
  }
  return finish(report);
}

function countsMismatch(stored: { tokens: number; prompts: number; hits: Int32Array; rateSums: Float64Array },
  expected: { tokens: number; prompts: number; hits: Int32Array; rateSums: Float64Array }): string | null {
  if (stored.tokens !== expected.tokens || stored.prompts !== expected.prompts) {
    return `${stored.tokens} tokens over ${stored.prompts} prompts stored, ${expected.tokens} over ${expected.prompts} recorded`;
  }
  for (let i = 0; i < expected.hits.length; i++) {
    if (stored.hits[i] !== expected.hits[i]) return `cell ${i} holds ${stored.hits[i]} hits, the routing has ${expected.hits[i]}`;
    if (Math.abs(stored.rateSums[i] - expected.rateSums[i]) > 1e-9 * Math.max(1, expected.rateSums[i])) {
      return `cell ${i} holds a rate sum of ${stored.rateSums[i]}, the routing adds up to ${expected.rateSums[i]}`;
    }
  }
  return null;
}

function finish(report: CheckReport): CheckReport {
  report.damagedRuns = [...new Set(report.damaged.map((d) => d.runId).filter((id): id is number => id !== null))].sort((a, b) => a - b);
  report.ok = report.integrity.length === 0 && report.damaged.length === 0;
  return report;
}
