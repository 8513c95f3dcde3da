import type { Transaction } from 'better-sqlite3';
import type { ProbeSet } from '../probes/probe-set.ts';
import type { ModelIdentity } from '../steering/mask-file.ts';
import type { ExpertMask } from '../steering/mask.ts';
import type { ReadableDB, WritableDB } from './database.ts';
import { float32FromBlob, float64FromBlob, int16FromBlob, int32FromBlob, toBlob } from './routing-blobs.ts';
import { countSpans, spanRange, type Span } from './span-counts.ts';

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
  class: string;
  tokens: number;
  prompts: number;
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
  const { lastInsertRowid } = db.prepare(`
    INSERT INTO runs (created_at, model_dir, model_hash, model_json, set_id, set_path, set_json, generate_tokens,
      mask_json, record_logits, status, prompt_count, moe_layers, num_experts, top_k)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)
  `).run(new Date().toISOString(), run.modelDir, run.modelHash, JSON.stringify(run.model), run.setId, run.setPath,
    JSON.stringify(run.set), run.generateTokens, run.mask && JSON.stringify(run.mask), run.recordLogits ? 1 : 0,
    run.promptCount, JSON.stringify(run.moeLayers), run.numExperts, run.topK);
  return Number(lastInsertRowid);
}

/** Indices of the prompts already recorded, which a resumed run skips. */
export function finishedPromptIndices(db: ReadableDB, runId: number): Set<number> {
  return new Set(db.prepare('SELECT idx FROM prompts WHERE run_id = ?').pluck().all(runId) as number[]);
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
  const where = 'WHERE run_id = ? AND span = ? AND class = ?';
  const spanExists = db.prepare(`SELECT 1 FROM span_counts ${where}`).pluck();
  const readSpan = db.prepare(`SELECT hits, rate_sums FROM span_counts ${where}`);
  const insertSpan = db.prepare(`
    INSERT INTO span_counts (run_id, span, class, tokens, prompts, hits, rate_sums) VALUES (?, ?, ?, ?, ?, ?, ?)
  `);
  const updateSpan = db.prepare(`
    UPDATE span_counts SET tokens = tokens + ?, prompts = prompts + 1, hits = ?, rate_sums = ? ${where}
  `);
  return db.transaction((runId: number, prompt: PromptRecord, moeLayers: number[], k: number) => {
    const E = selectNumExperts.get(runId) as number | undefined;
    if (E === undefined) throw new Error(`${db.name}: there is no run ${runId}`);
    const selected = checkPrompt(db, runId, prompt, moeLayers.length, k, E);
    const { changes } = insertPrompt.run(runId, prompt.idx, prompt.class, prompt.text, prompt.responseForced ?? null,
      prompt.answer ?? null, toBlob(prompt.tokenIds), prompt.promptTokens, prompt.outputText, prompt.label,
      prompt.correct === null ? null : Number(prompt.correct), toBlob(selected), toBlob(prompt.weights),
      prompt.routerLogits ? toBlob(prompt.routerLogits) : null);
    if (changes === 0) return false;
    const cells = moeLayers.length * E;
    for (const { span, tokens, hits } of countSpans(selected, prompt.promptTokens, moeLayers.length, k, E)) {
      const key = [runId, span, prompt.class];
      if (tokens === 0) {
        // The class is still listed for this span, with 0 tokens and 0 prompts.
        if (!spanExists.get(key)) insertSpan.run(key, 0, 0, toBlob(new Int32Array(cells)), toBlob(new Float64Array(cells)));
        continue;
      }
      const row = readSpan.get(key) as { hits: Buffer; rate_sums: Buffer } | undefined;
      const hitSums = row ? int32FromBlob(row.hits) : new Int32Array(cells);
      const rateSums = row ? float64FromBlob(row.rate_sums) : new Float64Array(cells);
      for (let i = 0; i < cells; i++) {
        hitSums[i] += hits[i];
        rateSums[i] += hits[i] / tokens;
      }
      if (row) updateSpan.run(tokens, toBlob(hitSums), toBlob(rateSums), key);
      else insertSpan.run(key, tokens, 1, toBlob(hitSums), toBlob(rateSums));
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
  return recorder(db).immediate(runId, prompt, moeLayers, k);
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
  const finishedAt = status === 'running' ? null : new Date().toISOString();
  const { changes } = db.prepare('UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?')
    .run(status, error ?? null, finishedAt, runId);
  if (changes === 0) throw new Error(`${db.name}: there is no run ${runId}`);
}

/** Newest first. */
export function listRuns(db: ReadableDB): Run[] {
  return (db.prepare('SELECT * FROM runs ORDER BY id DESC').all() as RunRow[]).map(toRun);
}

export function getRun(db: ReadableDB, runId: number): Run | undefined {
  const row = db.prepare('SELECT * FROM runs WHERE id = ?').get(runId) as RunRow | undefined;
  return row && toRun(row);
}

function toRun(row: RunRow): Run {
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
  };
}

/** A run's prompts in index order, without tokens or routing. */
export function getPrompts(db: ReadableDB, runId: number, filter: { class?: string } = {}): Prompt[] {
  const rows = db.prepare(`
    SELECT idx, class, text, response_forced, answer, prompt_tokens, output_text, label, correct
    FROM prompts WHERE run_id = @runId AND (@class IS NULL OR class = @class) ORDER BY idx
  `).all({ runId, class: filter.class ?? null }) as PromptRow[];
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

export function getPromptRouting(db: ReadableDB, runId: number, idx: number): PromptRouting | undefined {
  const row = db.prepare(`
    SELECT p.token_ids, p.prompt_tokens, p.selected, p.weights, p.router_logits, r.moe_layers, r.top_k, r.num_experts
    FROM prompts p JOIN runs r ON r.id = p.run_id WHERE p.run_id = ? AND p.idx = ?
  `).get(runId, idx) as {
    token_ids: Buffer; prompt_tokens: number; selected: Buffer; weights: Buffer; router_logits: Buffer | null;
    moe_layers: string; top_k: number; num_experts: number;
  } | undefined;
  if (!row) return undefined;
  const moeLayers = JSON.parse(row.moe_layers) as number[];
  const selected = int16FromBlob(row.selected);
  return {
    idx,
    tokenIds: int32FromBlob(row.token_ids),
    promptTokens: row.prompt_tokens,
    tokens: selected.length / (moeLayers.length * row.top_k),
    moeLayers,
    k: row.top_k,
    numExperts: row.num_experts,
    selected,
    weights: float32FromBlob(row.weights),
    routerLogits: row.router_logits && float32FromBlob(row.router_logits),
  };
}

/** The heatmap data of one span: per-class totals and the non-zero (class, layer, expert) counts. */
export function getCounts(db: ReadableDB, runId: number, span: Span): { classes: ClassTotal[]; counts: ExpertCount[] } {
  // One statement, so every class comes from the same snapshot while a run is still writing.
  const rows = db.prepare(`
    SELECT s.class, s.tokens, s.prompts, s.hits, s.rate_sums, r.moe_layers, r.num_experts
    FROM span_counts s JOIN runs r ON r.id = s.run_id
    WHERE s.run_id = ? AND s.span = ? ORDER BY s.class
  `).all(runId, span) as SpanCountsRow[];
  return {
    classes: rows.map((row) => ({ class: row.class, tokens: row.tokens, prompts: row.prompts })),
    counts: rows.flatMap(nonZeroCounts),
  };
}

function nonZeroCounts(row: SpanCountsRow): ExpertCount[] {
  const moeLayers = JSON.parse(row.moe_layers) as number[];
  const E = row.num_experts;
  const hits = int32FromBlob(row.hits);
  const rateSums = float64FromBlob(row.rate_sums);
  // The BLOBs' layers are in moe_layers order; the counts go by decoder layer.
  const byLayer = [...moeLayers.keys()].sort((a, b) => moeLayers[a] - moeLayers[b]);
  const counts: ExpertCount[] = [];
  for (const l of byLayer) {
    for (let expert = 0; expert < E; expert++) {
      const i = l * E + expert;
      if (hits[i] > 0) counts.push({ class: row.class, layer: moeLayers[l], expert, hits: hits[i], promptRateSum: rateSums[i] });
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
  const rows = db.prepare('SELECT idx, class, prompt_tokens, selected FROM prompts WHERE run_id = ? ORDER BY idx')
    .iterate(runId) as IterableIterator<{ idx: number; class: string; prompt_tokens: number; selected: Buffer }>;
  const found: { idx: number; class: string; tokenPositions: number[] }[] = [];
  for (const row of rows) {
    const selected = int16FromBlob(row.selected);
    const [start, end] = spanRange(span, row.prompt_tokens, selected.length / (L * k));
    const tokenPositions: number[] = [];
    for (let t = start; t < end; t++) {
      const at = (t * L + l) * k;
      if (selected.subarray(at, at + k).includes(expert)) tokenPositions.push(t);
    }
    if (tokenPositions.length > 0) found.push({ idx: row.idx, class: row.class, tokenPositions });
  }
  return found;
}

export function saveEvaluation(db: WritableDB, evaluation: NewEvaluation): number {
  const { lastInsertRowid } = db.prepare(`
    INSERT INTO evaluations (run_id, created_at, model_hash, set_id, mask_json, result_json) VALUES (?, ?, ?, ?, ?, ?)
  `).run(evaluation.runId, new Date().toISOString(), evaluation.modelHash, evaluation.setId,
    JSON.stringify(evaluation.mask), JSON.stringify(evaluation.result));
  return Number(lastInsertRowid);
}

/** Newest first. */
export function listEvaluations(db: ReadableDB): Evaluation[] {
  return (db.prepare('SELECT * FROM evaluations ORDER BY id DESC').all() as EvaluationRow[]).map((row) => ({
    id: row.id,
    runId: row.run_id,
    createdAt: row.created_at,
    modelHash: row.model_hash,
    setId: row.set_id,
    mask: JSON.parse(row.mask_json) as ExpertMask,
    result: JSON.parse(row.result_json) as unknown,
  }));
}
