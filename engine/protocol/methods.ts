import { z } from 'zod';
import type * as T from './types.ts';

/**
 * Most entries a mask may hold, wherever it comes from (requests, imported files, the command line). Larger than
 * layers × experts of any MoE model published (61 × 384 for Kimi K2), so only a mask with duplicates reaches it.
 */
export const MAX_MASK_ENTRIES = 100_000;
/** Most characters of mask JSON imported: 100 000 entries written out by `mask.export` take about 8 MB. */
export const MAX_MASK_JSON_CHARS = 16 * 1024 * 1024;
/** A mask's name as saved for the OpenAI-compatible endpoint: the file NAME.json, served as the model MODEL+NAME. */
export const MASK_NAME_PATTERN = /^[\p{L}\p{N}_-][\p{L}\p{N}._-]{0,99}$/u;
/** Most characters of an uploaded probe set (probes.expand `text`); the loader's byte cap applies too. */
export const MAX_PROBE_SET_UPLOAD_CHARS = 2 * 1024 * 1024;

/** Longest note kept with a run. */
export const MAX_RUN_NOTE_CHARS = 4000;

const mask = z.object({
  mode: z.enum(['backfill', 'drop']),
  forceWeight: z.enum(['natural', 'max']),
  entries: z.array(z.object({ layer: z.number().int().min(0), expert: z.number().int().min(0), state: z.enum(['off', 'forced']) })).max(MAX_MASK_ENTRIES),
}).strict();
/** A path on the engine's machine (a checkpoint folder, a probe-set file): long enough for any real one. */
const filePath = z.string().min(1).max(4096);
/** A name shown in messages or used in a file name: a class, a label, a mask's name, an uploaded file's name. */
const shortText = z.string().max(256);
const span = z.enum(['prompt', 'response', 'last']);
const runId = z.number().int().min(1);
const empty = z.object({}).strict();
const precisionChoice = z.enum(['auto', 'f32', 'bf16-as-f32', 'int8', 'int4']);
const context = z.number().int().min(16).max(1 << 22);

/**
 * Every request the engine answers: params are validated with these schemas where messages enter the engine;
 * results are typed by MethodResults. Long jobs stream events (see events.ts) tagged with the request id and can be
 * cancelled with a {cancel: id} message.
 */
export const methodParams = {
  /** The loaded model, or null. */
  'model.current': empty,
  /**
   * Loads a checkpoint folder (build progress as 'build.progress' events); omit dir for the demo model. precision
   * defaults to auto, context to the model's (at most 4096); the memory guard refuses what will not fit.
   */
  'model.open': z.object({ dir: filePath.optional(), precision: precisionChoice.optional(), context: context.optional() }).strict(),
  /** Memory each precision would take, and what is available, before opening (omit dir for the demo model). */
  'model.estimate': z.object({ dir: filePath.optional(), context: context.optional() }).strict(),
  'probes.list': empty,
  /**
   * Expands a probe set. Probe-set files (here, probes.run, evaluate) are read only from the probes folder or the
   * uploads folder, relative names against the probes folder: each a regular .json/.yaml/.yml file of at most
   * 2 MiB, counted to at most 100 000 prompts before anything is expanded. With `text`, the set is one the user
   * picked on their machine (an upload): `file` is its bare file name; it is validated, stored in the uploads
   * folder and expanded, and the reply's `set.file` is the stored file, usable wherever a probe-set file is.
   */
  'probes.expand': z.object({ file: filePath, text: z.string().max(MAX_PROBE_SET_UPLOAD_CHARS).optional() }).strict(),
  /** fTRI probe run; 'probe.progress' events; resumes an unfinished identical run unless forceNew. */
  'probes.run': z.object({ file: filePath, generateTokens: z.number().int().min(0).max(4096), resumeRunId: runId.optional(), forceNew: z.boolean().optional() }).strict(),
  'runs.list': empty,
  'runs.get': z.object({ runId }).strict(),
  'runs.heatmap': z.object({ runId, span }).strict(),
  'runs.rank': z.object({ runId, target: shortText.min(1), method: z.enum(['mote', 'rd']), span }).strict(),
  'runs.expertPrompts': z.object({ runId, layer: z.number().int().min(0), expert: z.number().int().min(0), span }).strict(),
  'runs.promptRouting': z.object({ runId, idx: z.number().int().min(0) }).strict(),
  /** Streams 'generate.token' events. */
  generate: z.object({
    prompt: z.string().min(1).max(1_000_000),
    chat: z.boolean(),
    mask,
    maxTokens: z.number().int().min(1).max(8192),
    seed: z.number().int().min(0),
    temperature: z.number().min(0).max(100),
    topK: z.number().int().min(0),
    topP: z.number().gt(0).max(1),
  }).strict(),
  /** 'evaluate.progress' events. */
  evaluate: z.object({
    file: filePath, mask, randomControls: z.number().int().min(0).max(100), dose: z.number().int().min(0).max(256),
    maxTokens: z.number().int().min(1).max(1024), behaviour: shortText.optional(), targetClass: shortText.optional(),
    /** Outputs end before the first of these, besides EOS and the chat template's end-of-turn marker. */
    stop: z.array(z.string().min(1).max(200)).max(16).optional(),
  }).strict(),
  /** Mask JSON in our format (with model identity) or EasySteer's layer_configs form. */
  'mask.export': z.object({ mask, name: shortText.optional(), format: z.enum(['mote', 'easysteer', 'steermoe']) }).strict(),
  /**
   * Parses mask JSON (at most 16 MiB, MAX_MASK_ENTRIES entries) and checks it against the loaded model; errors say
   * exactly what does not fit (the first 20 problems, and how many more). `source` names it in messages.
   */
  'mask.import': z.object({ json: z.string().max(MAX_MASK_JSON_CHARS), source: shortText.optional() }).strict(),
  'rankings.csv': z.object({ runId, target: shortText.min(1), method: z.enum(['mote', 'rd']), span }).strict(),
  /** Run bundle: model identity, probe set, mask (checked against the loaded model), seed and outputs, as JSON text. */
  'bundle.export': z.object({
    runId: runId.optional(), mask, seed: z.number().int().min(0),
    outputs: z.array(z.object({ label: shortText, text: z.string().max(1_000_000) })).max(1000),
    /** Stored evaluations to include (all results, settings and per-prompt outcomes). */
    evaluationIds: z.array(z.number().int().min(1)).max(1000).optional(),
  }).strict(),
  /** The OpenAI-compatible endpoint: on or off, its base URL and API key, the model names it serves. */
  'openai.status': empty,
  /** Switches the OpenAI-compatible endpoint on or off; answers its new status. */
  'openai.setEnabled': z.object({ enabled: z.boolean() }).strict(),
  /** Saves a mask (checked against the loaded model) as NAME.json in the endpoint's masks folder, replacing one of that name. */
  'openai.saveMask': z.object({ name: z.string().regex(MASK_NAME_PATTERN, 'letters, digits, ".", "_" and "-", not starting with "."'), mask }).strict(),
  /** Stored evaluations, newest first. */
  'evaluations.list': empty,
  'evaluations.get': z.object({ evaluationId: z.number().int().min(1) }).strict(),
  /** `rates`: each condition's rates with 95 % Wilson intervals and the random-mask test; `prompts`: per-prompt outcomes. */
  'evaluations.csv': z.object({ evaluationId: z.number().int().min(1), table: z.enum(['rates', 'prompts']) }).strict(),
  /**
   * fTRI probe run through an SGLang or vLLM server started with --enable-return-routed-experts (no model need be
   * loaded); `config` is the served model's config.json text. Events and result as probes.run.
   */
  'probes.runRemote': z.object({
    file: filePath, generateTokens: z.number().int().min(0).max(4096), resumeRunId: runId.optional(), forceNew: z.boolean().optional(),
    url: z.string().url().max(2048), backend: z.enum(['sglang', 'vllm']), modelId: z.string().min(1).max(512),
    apiKey: z.string().max(4096).optional(), config: z.string().min(2).max(1024 * 1024), concurrency: z.number().int().min(1).max(64).optional(),
  }).strict(),
  /**
   * Checks probe-set text without storing it (the editor validates as the user types): the set's classes and prompt
   * counts, or its problems with path and line. `file` is a bare name; its extension picks JSON or YAML.
   */
  'probes.check': z.object({ file: shortText.min(1), text: z.string().max(MAX_PROBE_SET_UPLOAD_CHARS) }).strict(),
  /** The text of a probe-set file (probes or uploads folder, as probes.expand reads), to edit it. */
  'probes.source': z.object({ file: filePath }).strict(),
  /** Deletes a run with its prompts, routing and counts, in one transaction; evaluations made on it stay. */
  'runs.delete': z.object({ runId }).strict(),
  /** Replaces a run's note (empty clears it). */
  'runs.annotate': z.object({ runId, note: z.string().max(MAX_RUN_NOTE_CHARS) }).strict(),
} as const;

export type Method = keyof typeof methodParams;
export type MethodParams<M extends Method> = z.infer<(typeof methodParams)[M]>;

export interface MethodResults {
  'model.current': T.ModelInfo | null;
  'model.open': T.ModelInfo;
  'model.estimate': T.MemoryEstimates;
  'probes.list': (T.ProbeSetInfo | T.ProbeSetListingError)[];
  'probes.expand': { set: T.ProbeSetInfo; prompts: T.ProbePromptInfo[]; tokenized: T.TokenCountBasis | null };
  /** With alreadyRecorded, nothing ran: run runId is a finished run of the same model, set and options (forceNew records again). */
  'probes.run': { runId: number; status: T.RunStatus; resumedFrom: number; recorded: number; alreadyRecorded?: { finishedAt: string | null } };
  'runs.list': T.RunSummary[];
  'runs.get': { run: T.RunSummary; prompts: T.RecordedPrompt[] };
  'runs.heatmap': T.Heatmap;
  'runs.rank': T.Ranking;
  'runs.expertPrompts': T.PromptHit[];
  'runs.promptRouting': T.PromptRoutingView;
  generate: T.GenerationResult;
  evaluate: T.StoredEvaluation;
  'mask.export': { json: string; fileName: string };
  'mask.import': { mask: T.ExpertMask; name: string | null; warnings: string[] };
  'rankings.csv': { csv: string; fileName: string };
  'bundle.export': { json: string; fileName: string };
  'openai.status': T.OpenAIEndpointStatus;
  'openai.setEnabled': T.OpenAIEndpointStatus;
  /** Where the mask was saved and the model name that serves it. */
  'openai.saveMask': { file: string; model: string };
  'evaluations.list': T.EvaluationSummary[];
  'evaluations.get': T.StoredEvaluation;
  'evaluations.csv': { csv: string; fileName: string };
  'probes.runRemote': MethodResults['probes.run'];
  'probes.check': T.ProbeSetCheck;
  /** name: the file's bare name; shipped: true for the probes folder (whose files the app never overwrites). */
  'probes.source': { file: string; name: string; text: string; shipped: boolean };
  'runs.delete': { runId: number };
  'runs.annotate': T.RunSummary;
}

export type MethodResult<M extends Method> = MethodResults[M];
