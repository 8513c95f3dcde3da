import { z } from 'zod';
import type * as T from './types.ts';

const mask = z.object({
  mode: z.enum(['backfill', 'drop']),
  forceWeight: z.enum(['natural', 'max']),
  entries: z.array(z.object({ layer: z.number().int().min(0), expert: z.number().int().min(0), state: z.enum(['off', 'forced']) })).max(100_000),
}).strict();
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
  'model.open': z.object({ dir: z.string().min(1).optional(), precision: precisionChoice.optional(), context: context.optional() }).strict(),
  /** Memory each precision would take, and what is available, before opening (omit dir for the demo model). */
  'model.estimate': z.object({ dir: z.string().min(1).optional(), context: context.optional() }).strict(),
  'probes.list': empty,
  'probes.expand': z.object({ file: z.string().min(1) }).strict(),
  /** fTRI probe run; 'probe.progress' events; resumes an unfinished identical run unless forceNew. */
  'probes.run': z.object({ file: z.string().min(1), generateTokens: z.number().int().min(0).max(4096), resumeRunId: runId.optional(), forceNew: z.boolean().optional() }).strict(),
  'runs.list': empty,
  'runs.get': z.object({ runId }).strict(),
  'runs.heatmap': z.object({ runId, span }).strict(),
  'runs.rank': z.object({ runId, target: z.string().min(1), method: z.enum(['mote', 'rd']), span }).strict(),
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
    file: z.string().min(1), mask, randomControls: z.number().int().min(0).max(100), dose: z.number().int().min(0).max(256),
    maxTokens: z.number().int().min(1).max(1024), behaviour: z.string().optional(), targetClass: z.string().optional(),
  }).strict(),
  /** Mask JSON in our format (with model identity) or EasySteer's layer_configs form. */
  'mask.export': z.object({ mask, name: z.string().optional(), format: z.enum(['mote', 'easysteer']) }).strict(),
  /** Parses mask JSON and checks it against the loaded model; errors say exactly what does not fit. */
  'mask.import': z.object({ json: z.string().max(50_000_000), source: z.string().optional() }).strict(),
  'rankings.csv': z.object({ runId, target: z.string().min(1), method: z.enum(['mote', 'rd']), span }).strict(),
  /** Run bundle: model identity, probe set, mask, seed and outputs, as JSON text. */
  'bundle.export': z.object({ runId: runId.optional(), mask, seed: z.number().int().min(0), outputs: z.array(z.object({ label: z.string(), text: z.string() })).max(1000) }).strict(),
} as const;

export type Method = keyof typeof methodParams;
export type MethodParams<M extends Method> = z.infer<(typeof methodParams)[M]>;

export interface MethodResults {
  'model.current': T.ModelInfo | null;
  'model.open': T.ModelInfo;
  'model.estimate': T.MemoryEstimates;
  'probes.list': (T.ProbeSetInfo | T.ProbeSetListingError)[];
  'probes.expand': { set: T.ProbeSetInfo; prompts: T.ProbePromptInfo[]; tokenized: T.TokenCountBasis | null };
  'probes.run': { runId: number; status: T.RunStatus; resumedFrom: number; recorded: number };
  'runs.list': T.RunSummary[];
  'runs.get': { run: T.RunSummary; prompts: T.RecordedPrompt[] };
  'runs.heatmap': T.Heatmap;
  'runs.rank': T.Ranking;
  'runs.expertPrompts': T.PromptHit[];
  'runs.promptRouting': T.PromptRoutingView;
  generate: T.GenerationResult;
  evaluate: T.EvaluationResult & { evaluationId: number };
  'mask.export': { json: string; fileName: string };
  'mask.import': { mask: T.ExpertMask; name: string | null; warnings: string[] };
  'rankings.csv': { csv: string; fileName: string };
  'bundle.export': { json: string; fileName: string };
}

export type MethodResult<M extends Method> = MethodResults[M];
