import type { Transaction } from 'better-sqlite3';
import type { ProbeSet } from '../probes/probe-set.ts';
import type { ModelIdentity } from '../steering/mask-file.ts';
import type { ExpertMask } from '../steering/mask.ts';
import { crc32 } from './crc32.ts';
import { assertWritable, damaged, guarded } from './damage.ts';
import type { ReadableDB, WritableDB } from './database.ts';
import { float32FromBlob, float64FromBlob, int16FromBlob, int32FromBlob, toBlob } from './routing-blobs.ts';
import { countSpans, spanRange, type Span } from './span-counts.ts';
import { blobProblem, routingProblem, shapeProblem, spanCountsProblem, type RunShape } from './verify.ts';

export type RunStatus = 'running' | 'finished' | 'cancelled' | 'failed';

export interface NewRun {
  modelDir: string;
  modelHash: string;
  model: ModelIdentity;
  setId: string;
  setPath: string;
  /** Snapshot of the probe set as run. */
  set: ProbeSet;
  generateTokens: number;
  mask: ExpertMask | null;
  recordLogits: boolean;
  /** Prompts in the expanded set. */
  promptCount: number;
  /** Decoder-layer indices of the MoE layers, in the order of the routing BLOBs' layer axis. */
  moeLayers: number[];
  numExperts: number;
  topK: number;
}

export interface Run extends NewRun {
  id: number;
  /** ISO 8601. */
  createdAt: string;
  status: RunStatus;
  error: string | null;
  finishedAt: string | null;
  /** The researcher's note on the run; empty when none. */
  note: string;
}

/** One finished probe prompt. T = routed tokens, L = MoE layers of the run, k = top-k, E = experts. */
export interface PromptRecord {
  /** Index in the expanded probe set. */
  idx: number;
  class: string;
  text: string;
  responseForced?: string | null;
  answer?: string | null;
  /** Prompt tokens, then response tokens. */
  tokenIds: Int32Array;
  /** How many of tokenIds are the prompt. */
  promptTokens: number;
  outputText: string;
  /** The output classifier's verdict. */
  label: string | null;
  /** Whether the expected answer was found. */
  correct: boolean | null;
  /**
   * [T, L, k] experts, −1 = dropped slot; stored as int16. T is tokenIds.length, or one less when the last
   * generated token was never fed back (generation stopped at the context length).
   */
  selected: Int16Array | Int32Array;
  /** [T, L, k] mixing weights. */
  weights: Float32Array;
  /** [T, L, E] router logits. */
  routerLogits?: Float32Array;
}

export type Prompt = Omit<PromptRecord, 'responseForced' | 'answer' | 'tokenIds' | 'selected' | 'weights' | 'routerLogits'>
  & { responseForced: string | null; answer: string | null };

/** A prompt's tokens and routing, with the shape of its BLOBs. */
export interface PromptRouting {
  idx: number;
  tokenIds: Int32Array;
  promptTokens: number;
  /** T: routed tokens. */
  tokens: number;
  moeLayers: number[];
  k: number;
  numExperts: number;
  selected: Int16Array;
  weights: Float32Array;
  routerLogits: Float32Array | null;
}

export interface ClassTotal {
  class: string;
  /** Span tokens over the class's prompts. */
  tokens: number;
  /** Prompts with at least one span token. */
  prompts: number;
}

export interface ExpertCount {
  class: string;
  /** Decoder-layer index. */
  layer: number;
  expert: number;
  /** Span tokens routed to the expert. */
  hits: number;
  /** Sum over the class's prompts of hits / span tokens in that prompt. */
  promptRateSum: number;
}

export interface NewEvaluation {
  runId: number | null;
  modelHash: string;
  setId: string;
  mask: ExpertMask;
  result: unknown;
}

export interface Evaluation extends NewEvaluation {
  id: number;
  createdAt: string;
}

interface RunRow {
  id: number;
  created_at: string;
  model_dir: string;
  model_hash: string;
  model_json: string;
  set_id: string;
  set_path: string;
  set_json: string;
  generate_tokens: number;
  mask_json: string | null;
  record_logits: number;
  status: RunStatus;
  prompt_count: number;
  error: string | null;
  finished_at: string | null;
  moe_layers: string;
  num_experts: number;
  top_k: number;
  note: string;
}

interface PromptRow {
  idx: number;
  class: string;
  text: string;
  response_forced: string | null;
  answer: string | null;
  prompt_tokens: number;
  output_text: string;
  label: string | null;
  correct: number | null;
}

interface SpanCountsRow {
  span: Span;
  class: string;
  tokens: number;
  prompts: number;
  hits_crc: number;
  rate_sums_crc: number;
  hits: Buffer;
  rate_sums: Buffer;
  moe_layers: string;
  num_experts: number;
}

interface EvaluationRow {
  id: number;
  run_id: number | null;
  created_at: string;
  model_hash: string;
  set_id: string;
  mask_json: string;
  result_json: string;
}

/** Largest expert index an int16 `selected` BLOB can hold. */
const MAX_EXPERT = 0x7fff;

export function createRun(db: WritableDB, run: NewRun): number {
  assertWritable(db);
  const { lastInsertRowid } = guarded(db, () => db.prepare(`
    INSERT INTO runs (created_at, model_dir, model_hash, model_json, set_id, set_path, set_json, generate_tokens,
      mask_json, record_logits, status, prompt_count, moe_layers, num_experts, top_k)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)
  `).run(new Date().toISOString(), run.modelDir, run.modelHash, JSON.stringify(run.model), run.setId, run.setPath,
    JSON.stringify(run.set), run.generateTokens, run.mask && JSON.stringify(run.mask), run.recordLogits ? 1 : 0,
    run.promptCount, JSON.stringify(run.moeLayers), run.numExperts, run.topK));
  return Number(lastInsertRowid);
}

/** Indices of the prompts already recorded, which a resumed run skips. */
export function finishedPromptIndices(db: ReadableDB, runId: number): Set<number> {
  return guarded(db, () => new Set(db.prepare('SELECT idx FROM prompts WHERE run_id = ?').pluck().all(runId) as number[]));
}

type RecordTransaction = Transaction<(runId: number, prompt: PromptRecord, moeLayers: number[], k: number) => boolean>;

const recorders = new WeakMap<WritableDB, RecordTransaction>();

/** recordPrompt's transaction, its statements prepared once per database handle. */
function recorder(db: WritableDB): RecordTransaction {
  let record = recorders.get(db);
  if (!record) {
    record = prepareRecorder(db);
    recorders.set(db, record);
  }
  return record;
}

function prepareRecorder(db: WritableDB): RecordTransaction {
  const selectNumExperts = db.prepare('SELECT num_experts FROM runs WHERE id = ?').pluck();
  const insertPrompt = db.prepare(`
    INSERT INTO prompts (run_id, idx, class, text, response_forced, answer, token_ids, prompt_tokens, output_text,
      label, correct, selected, weights, router_logits)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (run_id, idx) DO NOTHING
  `);
  const insertCrcs = db.prepare('INSERT INTO prompt_crcs (run_id, idx, selected, token_ids, weights, router_logits) VALUES (?, ?, ?, ?, ?, ?)');
  const where = 'WHERE run_id = ? AND span = ? AND class = ?';
  const spanExists = db.prepare(`SELECT 1 FROM span_counts ${where}`).pluck();
  const readSpan = db.prepare(`SELECT span, class, tokens, prompts, hits_crc, rate_sums_crc, hits, rate_sums FROM span_counts ${where}`);
  const insertSpan = db.prepare(`
    INSERT INTO span_counts (run_id, span, class, tokens, prompts, hits_crc, rate_sums_crc, hits, rate_sums)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
  `);
  const updateSpan = db.prepare(`
    UPDATE span_counts SET tokens = tokens + ?, prompts = prompts + 1, hits_crc = ?, rate_sums_crc = ?, hits = ?, rate_sums = ? ${where}
  `);
  const withCrc = (array: Int32Array | Float64Array) => {
    const blob = toBlob(array);
    return [crc32(blob), blob] as const;
  };
  return db.transaction((runId: number, prompt: PromptRecord, moeLayers: number[], k: number) => {
    const E = selectNumExperts.get(runId) as number | undefined;
    if (E === undefined) throw new Error(`${db.name}: there is no run ${runId}`);
    const selected = checkPrompt(db, runId, prompt, moeLayers.length, k, E);
    const tokenIds = toBlob(prompt.tokenIds);
    const selectedBlob = toBlob(selected);
    const weights = toBlob(prompt.weights);
    const routerLogits = prompt.routerLogits ? toBlob(prompt.routerLogits) : null;
    const { changes } = insertPrompt.run(runId, prompt.idx, prompt.class, prompt.text, prompt.responseForced ?? null,
      prompt.answer ?? null, tokenIds, prompt.promptTokens, prompt.outputText, prompt.label,
      prompt.correct === null ? null : Number(prompt.correct), selectedBlob, weights, routerLogits);
    if (changes === 0) return false;
    insertCrcs.run(runId, prompt.idx, crc32(selectedBlob), crc32(tokenIds), crc32(weights), routerLogits && crc32(routerLogits));
    const cells = moeLayers.length * E;
    const shape = { moeLayers, numExperts: E, topK: k };
    for (const { span, tokens, hits } of countSpans(selected, prompt.promptTokens, moeLayers.length, k, E)) {
      const key = [runId, span, prompt.class];
      if (tokens === 0) {
        // The class is still listed for this span, with 0 tokens and 0 prompts.
        if (!spanExists.get(key)) {
          const [hitsCrc, hitsBlob] = withCrc(new Int32Array(cells));
          const [ratesCrc, ratesBlob] = withCrc(new Float64Array(cells));
          insertSpan.run(key, 0, 0, hitsCrc, ratesCrc, hitsBlob, ratesBlob);
        }
        continue;
      }
      const row = readSpan.get(key) as SpanCountsRow | undefined;
      // Counts are read back and added to: damaged ones would only get more wrong.
      const stored = row && checkedSpanCounts(db, runId, shape, row);
      const hitSums = stored?.hits ?? new Int32Array(cells);
      const rateSums = stored?.rateSums ?? new Float64Array(cells);
      for (let i = 0; i < cells; i++) {
        hitSums[i] += hits[i];
        rateSums[i] += hits[i] / tokens;
      }
      const [hitsCrc, hitsBlob] = withCrc(hitSums);
      const [ratesCrc, ratesBlob] = withCrc(rateSums);
      if (row) updateSpan.run(tokens, hitsCrc, ratesCrc, hitsBlob, ratesBlob, key);
      else insertSpan.run(key, tokens, 1, hitsCrc, ratesCrc, hitsBlob, ratesBlob);
    }
    return true;
  });
}

/**
 * Stores a finished prompt and adds its routing to the run's span_counts, in one IMMEDIATE transaction. A prompt
 * already recorded for this run leaves everything as it was (so a resumed run never counts twice); returns whether
 * it was recorded now. `moeLayers` and `k` must be the run's.
 */
export function recordPrompt(db: WritableDB, runId: number, prompt: PromptRecord, moeLayers: number[], k: number): boolean {
  assertWritable(db);
  return guarded(db, () => recorder(db).immediate(runId, prompt, moeLayers, k));
}

/** Validates the routing's shape and returns `selected` as int16. */
function checkPrompt(db: WritableDB, runId: number, p: PromptRecord, layers: number, k: number, numExperts: number): Int16Array {
  const fail = (problem: string): never => {
    throw new Error(`${db.name}: cannot record prompt ${p.idx} of run ${runId}: ${problem}`);
  };
  const perToken = layers * k;
  const tokens = p.selected.length / perToken;
  if (!Number.isInteger(tokens)) fail(`selected has ${p.selected.length} entries, not a multiple of ${layers} layers × k ${k}`);
  if (p.promptTokens < 1 || tokens < p.promptTokens || tokens > p.tokenIds.length) {
    fail(`${tokens} routed tokens for ${p.promptTokens} prompt tokens of ${p.tokenIds.length}`);
  }
  if (p.weights.length !== p.selected.length) fail(`weights has ${p.weights.length} entries, selected ${p.selected.length}`);
  if (p.routerLogits && p.routerLogits.length % (tokens * layers) !== 0) {
    fail(`routerLogits has ${p.routerLogits.length} entries, not a multiple of ${tokens} tokens × ${layers} layers`);
  }
  const maxExpert = Math.min(numExperts - 1, MAX_EXPERT);
  for (const e of p.selected) {
    if (e < -1 || e > maxExpert) fail(`expert ${e} in selected is outside −1..${maxExpert}`);
  }
  return p.selected instanceof Int16Array ? p.selected : Int16Array.from(p.selected);
}

/** Ends (or, with 'running', resumes) a run; finished_at is set for every status but 'running'. */
export function setRunStatus(db: WritableDB, runId: number, status: RunStatus, error?: string): void {
  assertWritable(db);
  const finishedAt = status === 'running' ? null : new Date().toISOString();
  const { changes } = guarded(db, () => db.prepare('UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?')
    .run(status, error ?? null, finishedAt, runId));
  if (changes === 0) throw new Error(`${db.name}: there is no run ${runId}`);
}

/** Deletes a run with its prompts, counts and checksums (ON DELETE CASCADE); its evaluations keep, unlinked. */
export function deleteRun(db: WritableDB, runId: number): void {
  assertWritable(db);
  const { changes } = guarded(db, () => db.transaction(() => db.prepare('DELETE FROM runs WHERE id = ?').run(runId))());
  if (changes === 0) throw new Error(`${db.name}: there is no run ${runId}`);
}

/** Replaces a run's note (empty clears it). */
export function setRunNote(db: WritableDB, runId: number, note: string): void {
  assertWritable(db);
  const { changes } = guarded(db, () => db.prepare('UPDATE runs SET note = ? WHERE id = ?').run(note, runId));
  if (changes === 0) throw new Error(`${db.name}: there is no run ${runId}`);
}

/** Newest first. */
export function listRuns(db: ReadableDB): Run[] {
  return guarded(db, () => (db.prepare('SELECT * FROM runs ORDER BY id DESC').all() as RunRow[]).map((row) => toRun(db, row)));
}

export function getRun(db: ReadableDB, runId: number): Run | undefined {
  return guarded(db, () => {
    const row = db.prepare('SELECT * FROM runs WHERE id = ?').get(runId) as RunRow | undefined;
    return row && toRun(db, row);
  });
}

function toRun(db: ReadableDB, row: RunRow): Run {
  const run = parseStored(db, `run ${row.id}`, () => runFromRow(row));
  const problem = shapeProblem(run);
  if (problem) throw damaged(db, `run ${row.id}: ${problem}`);
  return run;
}

/** JSON the store wrote that no longer parses was damaged on disk. */
function parseStored<T>(db: ReadableDB, what: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof SyntaxError) throw damaged(db, `${what}: stored JSON does not parse (${err.message})`, err);
    throw err;
  }
}

function runFromRow(row: RunRow): Run {
  return {
    id: row.id,
    createdAt: row.created_at,
    modelDir: row.model_dir,
    modelHash: row.model_hash,
    // Runs recorded before precisions existed ran at f32.
    model: { precision: 'f32', ...JSON.parse(row.model_json) } as ModelIdentity,
    setId: row.set_id,
    setPath: row.set_path,
    set: JSON.parse(row.set_json) as ProbeSet,
    generateTokens: row.generate_tokens,
    mask: row.mask_json === null ? null : JSON.parse(row.mask_json) as ExpertMask,
    recordLogits: row.record_logits === 1,
    status: row.status,
    promptCount: row.prompt_count,
    error: row.error,
    finishedAt: row.finished_at,
    moeLayers: JSON.parse(row.moe_layers) as number[],
    numExperts: row.num_experts,
    topK: row.top_k,
    note: row.note,
  };
}

/** A run's prompts in index order, without tokens or routing. */
export function getPrompts(db: ReadableDB, runId: number, filter: { class?: string } = {}): Prompt[] {
  const rows = guarded(db, () => db.prepare(`
    SELECT idx, class, text, response_forced, answer, prompt_tokens, output_text, label, correct
    FROM prompts WHERE run_id = @runId AND (@class IS NULL OR class = @class) ORDER BY idx
  `).all({ runId, class: filter.class ?? null }) as PromptRow[]);
  return rows.map((row) => ({
    idx: row.idx,
    class: row.class,
    text: row.text,
    responseForced: row.response_forced,
    answer: row.answer,
    promptTokens: row.prompt_tokens,
    outputText: row.output_text,
    label: row.label,
    correct: row.correct === null ? null : row.correct === 1,
  }));
}

/**
 * A prompt's tokens and routing, each BLOB checked against its CRC32 and the routing against the run's shape; damage
 * throws DatabaseDamagedError.
 */
export function getPromptRouting(db: ReadableDB, runId: number, idx: number): PromptRouting | undefined {
  return guarded(db, () => {
    const row = db.prepare(`
      SELECT p.token_ids, p.prompt_tokens, p.selected, p.weights, p.router_logits, r.moe_layers, r.top_k, r.num_experts,
        c.selected AS selected_crc, c.token_ids AS token_ids_crc, c.weights AS weights_crc, c.router_logits AS router_logits_crc
      FROM prompts p JOIN runs r ON r.id = p.run_id LEFT JOIN prompt_crcs c ON c.run_id = p.run_id AND c.idx = p.idx
      WHERE p.run_id = ? AND p.idx = ?
    `).get(runId, idx) as RoutingRow | undefined;
    if (!row) return undefined;
    const what = `run ${runId}, prompt ${idx}`;
    const shape = parseStored(db, `run ${runId}`, () => ({ moeLayers: JSON.parse(row.moe_layers) as number[], numExperts: row.num_experts, topK: row.top_k }));
    const problem = shapeProblem(shape)
      ?? blobProblem('selected', row.selected, row.selected_crc)
      ?? blobProblem('token_ids', row.token_ids, row.token_ids_crc)
      ?? blobProblem('weights', row.weights, row.weights_crc)
      ?? blobProblem('router_logits', row.router_logits, row.router_logits_crc);
    if (problem) throw damaged(db, `${what}: ${problem}`);
    const routing = {
      idx,
      tokenIds: int32FromBlob(row.token_ids),
      promptTokens: row.prompt_tokens,
      tokens: 0,
      moeLayers: shape.moeLayers,
      k: shape.topK,
      numExperts: shape.numExperts,
      selected: int16FromBlob(row.selected),
      weights: float32FromBlob(row.weights),
      routerLogits: row.router_logits && float32FromBlob(row.router_logits),
    };
    const shapeError = routingProblem(shape, routing);
    if (shapeError) throw damaged(db, `${what}: ${shapeError}`);
    routing.tokens = routing.selected.length / (shape.moeLayers.length * shape.topK);
    return routing;
  });
}

interface RoutingRow {
  token_ids: Buffer; prompt_tokens: number; selected: Buffer; weights: Buffer; router_logits: Buffer | null;
  moe_layers: string; top_k: number; num_experts: number;
  selected_crc: number | null; token_ids_crc: number | null; weights_crc: number | null; router_logits_crc: number | null;
}

/** The heatmap data of one span: per-class totals and the non-zero (class, layer, expert) counts. */
export function getCounts(db: ReadableDB, runId: number, span: Span): { classes: ClassTotal[]; counts: ExpertCount[] } {
  // One statement, so every class comes from the same snapshot while a run is still writing.
  return guarded(db, () => {
    const rows = db.prepare(`
      SELECT s.span, s.class, s.tokens, s.prompts, s.hits_crc, s.rate_sums_crc, s.hits, s.rate_sums, r.moe_layers, r.num_experts, r.top_k
      FROM span_counts s JOIN runs r ON r.id = s.run_id
      WHERE s.run_id = ? AND s.span = ? ORDER BY s.class
    `).all(runId, span) as (SpanCountsRow & { moe_layers: string; num_experts: number; top_k: number })[];
    return {
      classes: rows.map((row) => ({ class: row.class, tokens: row.tokens, prompts: row.prompts })),
      counts: rows.flatMap((row) => {
        const shape = parseStored(db, `run ${runId}`, () => ({ moeLayers: JSON.parse(row.moe_layers) as number[], numExperts: row.num_experts, topK: row.top_k }));
        const problem = shapeProblem(shape);
        if (problem) throw damaged(db, `run ${runId}: ${problem}`);
        return nonZeroCounts(row.class, shape, checkedSpanCounts(db, runId, shape, row));
      }),
    };
  });
}

/** A span_counts row's BLOBs, checked against their CRC32s and the run's shape. */
function checkedSpanCounts(db: ReadableDB, runId: number, shape: RunShape, row: SpanCountsRow): { hits: Int32Array; rateSums: Float64Array } {
  const what = `run ${runId}, ${row.span} counts of class ${JSON.stringify(row.class)}`;
  const crcProblem = blobProblem('hits', row.hits, row.hits_crc) ?? blobProblem('rate_sums', row.rate_sums, row.rate_sums_crc);
  if (crcProblem) throw damaged(db, `${what}: ${crcProblem}`);
  const counts = { tokens: row.tokens, prompts: row.prompts, hits: int32FromBlob(row.hits), rateSums: float64FromBlob(row.rate_sums) };
  const problem = spanCountsProblem(shape, counts);
  if (problem) throw damaged(db, `${what}: ${problem}`);
  return counts;
}

function nonZeroCounts(cls: string, shape: RunShape, { hits, rateSums }: { hits: Int32Array; rateSums: Float64Array }): ExpertCount[] {
  const { moeLayers, numExperts: E } = shape;
  // The BLOBs' layers are in moe_layers order; the counts go by decoder layer.
  const byLayer = [...moeLayers.keys()].sort((a, b) => moeLayers[a] - moeLayers[b]);
  const counts: ExpertCount[] = [];
  for (const l of byLayer) {
    for (let expert = 0; expert < E; expert++) {
      const i = l * E + expert;
      if (hits[i] > 0) counts.push({ class: cls, layer: moeLayers[l], expert, hits: hits[i], promptRateSum: rateSums[i] });
    }
  }
  return counts;
}

/**
 * The prompts in which `expert` of decoder layer `layer` got at least one token of `span`, with those tokens'
 * positions in the prompt's token ids. Reads every prompt's routing BLOB.
 */
export function promptsRoutedTo(db: ReadableDB, runId: number, layer: number, expert: number, span: Span):
  { idx: number; class: string; tokenPositions: number[] }[] {
  const run = getRun(db, runId);
  if (!run) throw new Error(`${db.name}: there is no run ${runId}`);
  const l = run.moeLayers.indexOf(layer);
  if (l < 0) throw new Error(`${db.name}: layer ${layer} is not an MoE layer of run ${runId}`);
  const L = run.moeLayers.length;
  const k = run.topK;
  return guarded(db, () => {
    const rows = db.prepare(`
      SELECT p.idx, p.class, p.prompt_tokens, c.selected AS selected_crc, p.selected
      FROM prompts p LEFT JOIN prompt_crcs c ON c.run_id = p.run_id AND c.idx = p.idx WHERE p.run_id = ? ORDER BY p.idx
    `).iterate(runId) as IterableIterator<{ idx: number; class: string; prompt_tokens: number; selected_crc: number | null; selected: Buffer }>;
    const found: { idx: number; class: string; tokenPositions: number[] }[] = [];
    for (const row of rows) {
      const crcProblem = blobProblem('selected', row.selected, row.selected_crc);
      if (crcProblem) throw damaged(db, `run ${runId}, prompt ${row.idx}: ${crcProblem}`);
      const selected = int16FromBlob(row.selected);
      const problem = routingProblem(run, { promptTokens: row.prompt_tokens, selected });
      if (problem) throw damaged(db, `run ${runId}, prompt ${row.idx}: ${problem}`);
      const [start, end] = spanRange(span, row.prompt_tokens, selected.length / (L * k));
      const tokenPositions: number[] = [];
      for (let t = start; t < end; t++) {
        const at = (t * L + l) * k;
        if (selected.subarray(at, at + k).includes(expert)) tokenPositions.push(t);
      }
      if (tokenPositions.length > 0) found.push({ idx: row.idx, class: row.class, tokenPositions });
    }
    return found;
  });
}

export function saveEvaluation(db: WritableDB, evaluation: NewEvaluation): number {
  assertWritable(db);
  const { lastInsertRowid } = guarded(db, () => db.prepare(`
    INSERT INTO evaluations (run_id, created_at, model_hash, set_id, mask_json, result_json) VALUES (?, ?, ?, ?, ?, ?)
  `).run(evaluation.runId, new Date().toISOString(), evaluation.modelHash, evaluation.setId,
    JSON.stringify(evaluation.mask), JSON.stringify(evaluation.result)));
  return Number(lastInsertRowid);
}

/** Newest first. */
export function listEvaluations(db: ReadableDB): Evaluation[] {
  const rows = guarded(db, () => db.prepare('SELECT * FROM evaluations ORDER BY id DESC').all() as EvaluationRow[]);
  return rows.map((row) => evaluationFromRow(db, row));
}

export function getEvaluation(db: ReadableDB, id: number): Evaluation | null {
  const row = guarded(db, () => db.prepare('SELECT * FROM evaluations WHERE id = ?').get(id) as EvaluationRow | undefined);
  return row ? evaluationFromRow(db, row) : null;
}

function evaluationFromRow(db: ReadableDB, row: EvaluationRow): Evaluation {
  return parseStored(db, `evaluation ${row.id}`, () => ({
    id: row.id,
    runId: row.run_id,
    createdAt: row.created_at,
    modelHash: row.model_hash,
    setId: row.set_id,
    mask: JSON.parse(row.mask_json) as ExpertMask,
    result: JSON.parse(row.result_json) as unknown,
  }));
}
