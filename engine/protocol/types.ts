/**
 * Data that crosses the engine boundary (Electron IPC, WebSocket, tests). Self-contained on purpose: the renderer
 * type-checks against this file without Node or engine internals. Arrays of numbers are plain JSON arrays.
 */

export type ExpertState = 'normal' | 'off' | 'forced';
/** backfill: off experts' slots go to the next-best experts. drop: the router's own top-k is kept and off experts
 * simply lose their slot, so fewer than k experts may run. */
export type OffMode = 'backfill' | 'drop';
/** natural: a forced expert is weighted by its own router score. max: as if its router logit were the row's top
 * logit + ε (SteerMoE). Forced experts are always selected first. */
export type ForceWeight = 'natural' | 'max';
export type Span = 'prompt' | 'response' | 'last';
export type RankMethod = 'mote' | 'rd';

export interface MaskEntry {
  /** Decoder-layer index. */
  layer: number;
  expert: number;
  state: 'off' | 'forced';
}

export interface ExpertMask {
  mode: OffMode;
  forceWeight: ForceWeight;
  entries: MaskEntry[];
}

/**
 * How the engine holds a model's weights: f32 = as stored, widened to float32; bf16-as-f32 = rounded to bfloat16
 * first (a float32 checkpoint computed as its bfloat16 release would be); int8 / int4 = experts, dense projections
 * and the LM head quantised in blocks of 32, embeddings as float16, routers float32.
 */
export type Precision = 'f32' | 'bf16-as-f32' | 'int8' | 'int4';
export const PRECISIONS: readonly Precision[] = ['f32', 'bf16-as-f32', 'int8', 'int4'];
/** auto: the widest precision whose estimate fits the memory available. */
export type PrecisionChoice = Precision | 'auto';

/** Which model a mask was made for, and which precision a run or evaluation was computed at. */
export interface ModelIdentity {
  architecture: string;
  layers: number;
  experts: number;
  topK: number;
  /** Checkpoint content hash; a different one only warns, since a mask can carry over to a fine-tune. */
  checkpoint: string;
  /** Absent in records made before precisions existed: those are f32. */
  precision?: Precision;
  /** Set when the routing was recorded through an inference server rather than this engine. */
  remote?: RemoteModel;
}

export type RemoteBackendName = 'sglang' | 'vllm';

/** The server a remote run was recorded through. */
export interface RemoteModel {
  url: string;
  backend: RemoteBackendName;
  /** The model name the server serves (the OpenAI `model` field). */
  modelId: string;
}

/** What `mote inspect` reports about a checkpoint. */
export interface ModelSummary {
  folder: string;
  architecture: string;
  family: string;
  routerRule: string;
  layers: number;
  /** Decoder-layer indices of the MoE layers; heatmap rows. */
  moeLayers: number[];
  experts: number;
  topK: number;
  normTopkProb: boolean;
  sharedExperts: number;
  hiddenSize: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  contextLength: number;
  parameters: number;
  activeParameters: number;
  /** float32 weights, as the engine holds them. */
  memoryBytes: number;
  checkpoint: string;
}

/** Estimated resident memory of a model at one precision and context (engine/model/memory-estimate.ts), bytes. */
export interface MemoryFigures {
  precision: Precision;
  context: number;
  weights: number;
  kvCache: number;
  workspace: number;
  total: number;
}

/** What opening a checkpoint would take, for each precision, before it is opened. */
export interface MemoryEstimates {
  folder: string;
  architecture: string;
  /** The model's own context, and the one it would open with. */
  modelContext: number;
  context: number;
  /** Memory the system has available now. */
  available: number;
  estimates: MemoryFigures[];
  /** What `auto` would pick; null when nothing fits. */
  auto: Precision | null;
}

/** The loaded model as the UI sees it. */
export interface ModelInfo extends ModelSummary {
  /** True for the embedded demo model. */
  demo: boolean;
  hasChatTemplate: boolean;
  identity: ModelIdentity;
  precision: Precision;
  /** The estimate the memory guard admitted the model with. */
  memory: MemoryFigures;
}

export interface ProbeSetInfo {
  file: string;
  id: string;
  title: string;
  type: 'templates' | 'paired';
  classes: string[];
  promptCount: number;
}

export interface ProbeSetListingError {
  file: string;
  error: string;
}

export interface ProbePromptInfo {
  index: number;
  class: string;
  text: string;
  response?: string;
  answer?: string;
  /** Tokens the prompt is run with (with its forced response) under the loaded model; absent without a model. */
  tokens?: number;
}

/** The model whose tokenizer counted an expansion's tokens. */
export interface TokenCountBasis {
  checkpoint: string;
  contextLength: number;
  /** The set's text under that tokenizer's unknown token; absent when the tokenizer has none. */
  unknownTokens?: UnknownTokenReport;
}

/** Tokens of a probe set's text (prompts and forced responses, no chat template) that are the unknown token. */
export interface UnknownTokenReport {
  /** The unknown token's text, e.g. "<unk>". */
  token: string;
  unknown: number;
  total: number;
  promptsWithUnknown: number;
  prompts: number;
  /** Up to five words of the set that contain an unknown token. */
  examples: string[];
  /** Set when the share is over 20 % or most prompts hold one: the sentence UI and CLI show. */
  warning: string | null;
}

export type RunStatus = 'running' | 'finished' | 'cancelled' | 'failed';

export interface RunSummary {
  id: number;
  createdAt: string;
  status: RunStatus;
  error: string | null;
  setId: string;
  setPath: string;
  classes: string[];
  modelHash: string;
  architecture: string;
  /** Precision the run was recorded at. */
  precision: Precision;
  /** The server a remote run was recorded through (its precision is the server's, not known here). */
  remote?: RemoteModel;
  promptCount: number;
  recorded: number;
  generateTokens: number;
  /** ISO 8601; null while running. */
  finishedAt: string | null;
  /** The researcher's note on the run; empty when none. */
  note: string;
}

export interface RecordedPrompt {
  idx: number;
  class: string;
  text: string;
  outputText: string;
  label: string | null;
  correct: boolean | null;
}

/** Activation maps of one run over one span, rows = MoE layers, columns = experts, row-major [layers × experts]. */
export interface Heatmap {
  runId: number;
  span: Span;
  layers: number[];
  experts: number;
  classes: {
    class: string;
    tokens: number;
    prompts: number;
    /** Token-level activation rate: span tokens routed to the expert ÷ span tokens. */
    rate: number[];
    /** Mean per-prompt activation share (the MoTE map). */
    mean: number[];
  }[];
}

export interface ExpertScore {
  layer: number;
  expert: number;
  score: number;
  rateTarget: number;
  rateOther: number;
  meanTarget: number;
  meanOther: number;
  p: number;
  q: number;
  /** Competition rank: experts of equal score share the rank of the first of them (engine/common/ranking-ties.ts). */
  rank: number;
}

export interface Ranking {
  runId: number;
  target: string;
  method: RankMethod;
  span: Span;
  layers: number[];
  experts: number;
  targetPrompts: number;
  otherPrompts: number;
  /** Every (layer, expert), best first. */
  scores: ExpertScore[];
}

/** A prompt whose tokens were routed to one expert: its tokens as text and which of them went there. */
export interface PromptHit {
  idx: number;
  class: string;
  /** One text piece per token (prompt, then response); joined they are the tokenizer's decoding of the prompt. */
  tokens: string[];
  promptTokens: number;
  positions: number[];
}

/** Routing of one recorded prompt, token-major: selected/weights [tokens × layers × k], −1 = dropped slot. */
export interface PromptRoutingView {
  idx: number;
  class: string;
  tokens: string[];
  promptTokens: number;
  layers: number[];
  k: number;
  selected: number[];
  /** null where the run has no mixing weights (runs recorded through a server, which sends expert ids only). */
  weights: (number | null)[];
}

/** One token's routing per MoE layer: experts best first with their mixing weights. */
export interface TokenRouting {
  layer: number;
  experts: number[];
  weights: number[];
}

export type StopReason = 'eos' | 'stop-string' | 'max-tokens' | 'context' | 'cancelled';

export interface GenerationResult {
  text: string;
  ids: number[];
  reason: StopReason;
  /** Speed measured in the engine: ms to the first generated token (prefill included), then decode tokens/s. */
  timing: { firstTokenMs: number | null; tokensPerSecond: number | null };
}

/** hits of n, with the 95 % Wilson score interval [low, high] of hits / n. */
export interface Proportion {
  hits: number;
  n: number;
  low: number;
  high: number;
}

export interface ConditionResult {
  name: string;
  entries: number;
  behaviourRate: number | null;
  benignAccuracy: number | null;
  benignBehaviourRate: number | null;
  /** The counts behind each rate, with 95 % Wilson intervals; null where the rate is null. */
  behaviour: Proportion | null;
  accuracy: Proportion | null;
  benignBehaviour: Proportion | null;
}

/**
 * Permutation test of the mask against random masks of the same shape: how many of the K random masks leave a
 * behaviour rate at or below the mask's (cut at least as much); p = (count + 1) / (K + 1), whose smallest possible
 * value is 1 / (K + 1). p is null when K = 0 or the mask's rate is unknown; `note` says so, or that K is too small
 * for p to reach 0.05.
 */
export interface RandomMaskTest {
  controls: number;
  atLeastAsLarge: number;
  p: number | null;
  smallestP: number | null;
  note: string | null;
}

export type AnswerMatchMode = 'contains' | 'exact' | 'first-sentence';

/** One prompt's output under a condition: classifier label, answer verdict (null without an answer), output text. */
export interface PromptVerdict {
  label: string;
  correct: boolean | null;
  output: string;
}

export interface PromptOutcome {
  index: number;
  class: string;
  text: string;
  answer: string | null;
  baseline: PromptVerdict;
  masked: PromptVerdict;
  /** Label or answer verdict differs between baseline and mask. */
  changed: boolean;
}

export interface EvaluationSettings {
  randomControls: number;
  dose: number;
  maxTokens: number;
  /** User stop strings; outputs are cut before the first. */
  stop: string[];
  answerMatch: AnswerMatchMode;
  /** Tokens that ended a generation (EOS and the chat template's end-of-turn marker), as the vocabulary spells them. */
  endOfTurn: string[];
}

export interface EvaluationResult {
  setId: string;
  behaviour: string;
  targetClass: string;
  targetPrompts: number;
  benignPrompts: number;
  baseline: ConditionResult;
  masked: ConditionResult;
  randomControls: ConditionResult[];
  randomSummary: { behaviourMean: number; behaviourSd: number; accuracyMean: number | null; accuracySd: number | null } | null;
  /** Masks of the first 1…N entries, each over every prompt (behaviour and benign accuracy). */
  dose: ConditionResult[];
  /** The mask's experts forced on, over the benign prompts. */
  forced: ConditionResult | null;
  randomTest: RandomMaskTest;
  /** Every prompt's baseline and masked outcome, in probe-set order. */
  prompts: PromptOutcome[];
  /** null for evaluations stored before settings were recorded. */
  settings: EvaluationSettings | null;
}

/** An evaluation as stored: its result, when it was made, the mask and the precision it ran at. */
export interface StoredEvaluation extends EvaluationResult {
  evaluationId: number;
  createdAt: string;
  mask: ExpertMask;
  /** Precision the model ran at; null for evaluations stored without it. */
  precision: string | null;
}

/** A line of the evaluations list. */
export interface EvaluationSummary {
  evaluationId: number;
  createdAt: string;
  setId: string;
  behaviour: string;
  targetClass: string;
  entries: number;
  baselineRate: number | null;
  maskedRate: number | null;
  randomP: number | null;
  randomControls: number;
  precision: string | null;
}

/** The OpenAI-compatible endpoint (engine/server/openai) as the app shows it. */
export interface OpenAIEndpointStatus {
  /** False where this engine has no endpoint to switch (an engine embedded without a server). */
  available: boolean;
  enabled: boolean;
  /** http://127.0.0.1:PORT/v1 while enabled, else null. */
  baseUrl: string | null;
  /** The access token clients send as their API key (a bearer token), while enabled. */
  apiKey: string | null;
  /** Model names served now: the loaded model, then MODEL+NAME for each saved mask that fits it. */
  models: string[];
  /** Folder of saved masks (NAME.json) served as MODEL+NAME. */
  masksDir: string | null;
}

/** A problem in a probe-set file: where (path like `templates[2].text`, 1-based line) and what. */
export interface ProbeSetProblemInfo {
  path: string;
  line?: number;
  message: string;
}

/** probes.check: a valid set's expansion summary, or the set's problems (the first ones, and how many in all). */
export type ProbeSetCheck =
  | { ok: true; id: string; title: string; type: 'templates' | 'paired'; classes: { class: string; prompts: number }[]; promptCount: number }
  | { ok: false; problems: ProbeSetProblemInfo[]; total: number };
