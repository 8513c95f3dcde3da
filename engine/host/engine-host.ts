import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { evaluateMask } from '../analysis/evaluate.ts';
import { evaluationFileName, evaluationPromptsCsv, evaluationRatesCsv, evaluationSummary, storedEvaluation } from '../analysis/evaluation-record.ts';
import { rankExperts } from '../analysis/rank.ts';
import { summarizeCheckpoint } from '../cli/inspect.ts';
import { openCheckpoint, type Checkpoint } from '../model/checkpoint.ts';
import { readJsonFile } from '../model/checkpoint.ts';
import { loadTokenizer, tokenPieces, type TextTokenizer } from '../model/tokenizer.ts';
import { expandProbeSet } from '../probes/expand.ts';
import { clip } from '../probes/inputs.ts';
import { listProbeSets } from '../probes/list-probe-sets.ts';
import { loadProbeSetAsync } from '../probes/load-probe-set.ts';
import type { ProbeSet } from '../probes/probe-set.ts';
import { checkProbeSetText } from '../probes/probe-set-check.ts';
import { probePromptIds } from '../probes/prompt-tokens.ts';
import { runProbes } from '../probes/run-probes.ts';
import { unknownTokenReport } from '../probes/unknown-tokens.ts';
import { remoteModelFromConfig } from '../remote/remote-model.ts';
import { runRemoteProbes } from '../remote/run-remote-probes.ts';
import type { EngineEvents, EventName } from '../protocol/events.ts';
import { clientMessageSchema, type EngineMessage, type ProtocolError } from '../protocol/messages.ts';
import { methodParams, type Method, type MethodParams, type MethodResult } from '../protocol/methods.ts';
import type { GenerationResult, MemoryEstimates, ModelInfo, StoredEvaluation } from '../protocol/types.ts';
import { generate } from '../runtime/generate.ts';
import { availableMemory, planMemory, runContext } from '../runtime/memory-guard.ts';
import { ModelRunner } from '../runtime/model-runner.ts';
import { tokenRouting } from '../runtime/token-routing.ts';
import type { ExpertMask } from '../steering/mask.ts';
import { exportMask, importMask } from '../steering/mask-exchange.ts';
import { maskFile } from '../steering/mask-file.ts';
import { assertEntriesFit, locate, type MaskTarget } from '../steering/mask-fit.ts';
import { openDatabase, type WritableDB } from '../store/database.ts';
import { deleteRun, getEvaluation, getPrompts, getRun, listEvaluations, listRuns, saveEvaluation, setRunNote, type Run } from '../store/runs.ts';
import { runBundle } from './bundle.ts';
import { ExclusiveQueue } from './exclusive-queue.ts';
import { checkCheckpointFolder, FileAccess } from './file-access.ts';
import { cancelled, HostError } from './host-error.ts';
import { memoryEstimates, modelInfo } from './model-info.ts';
import { NO_OPENAI_ENDPOINT, type OpenAIControl } from './openai-control.ts';
import { expertPrompts, heatmap, promptRoutingView, rankingCsv, recordedPrompt, runSummary, type TokenTexts } from './run-views.ts';

export interface EngineHostOptions {
  /** Checkpoint folder `model.open` loads when it names none. */
  demoModelDir: string;
  /** Folder `probes.list` lists; relative probe-set paths in requests resolve against it. */
  probesDir: string;
  /**
   * Where probe sets uploaded by the user (probes.expand with `text`) are stored; listed after the probes folder.
   * Default: `uploaded-probes` beside the database. Requests may name probe sets in these two folders only.
   */
  uploadsDir?: string;
  /** SQLite file of probe runs and evaluations, created on first use. */
  dbFile: string;
  /** Graph cache (default: the engine's, $MOTE_CACHE_DIR or ~/.cache/mote-studio). */
  cacheDir?: string;
  /** onnxruntime intra-op threads (0 = automatic). */
  threads?: number;
}

/** Where replies and events for one client go (one per connection or IPC channel). */
export type Emit = (message: EngineMessage) => void;

export interface LoadedModel {
  runner: ModelRunner;
  tokenizer: TextTokenizer;
  info: ModelInfo;
}

interface Job {
  id: number;
  signal: AbortSignal;
  event<E extends EventName>(name: E, data: EngineEvents[E]): void;
}

type Handlers = { [M in Method]: (params: MethodParams<M>, job: Job) => Promise<MethodResult<M>> };

/** Jobs that drive the loaded model: they run one at a time, and opening another model cancels them. */
const MODEL_JOBS: ReadonlySet<Method> = new Set<Method>(['model.open', 'probes.run', 'generate', 'evaluate']);

const [requestSchema, cancelSchema] = clientMessageSchema.options;

/** Longest error message sent: a safety net under the per-input caps (a few kB), so no reply carries megabytes. */
export const MAX_ERROR_MESSAGE_CHARS = 32 * 1024;
/** Validation issues listed in a bad-request reply; the rest are counted. */
const MAX_LISTED_ISSUES = 10;

/**
 * The engine behind every transport (Electron IPC, WebSocket, tests): validates each incoming message, runs the
 * method and replies `{id, ok, result | error}`; long jobs stream events tagged with the request id and stop on
 * `{cancel: id}`. It never throws from `handle`. A message that is not a valid request and carries no usable id
 * is answered with id -1.
 */
export class EngineHost {
  private model: LoadedModel | null = null;
  private database: WritableDB | null = null;
  private readonly queue = new ExclusiveQueue();
  /** Running requests per client, so request ids of two clients never collide. */
  private readonly jobs = new Map<Emit, Map<number, { controller: AbortController; method: Method }>>();
  /** Tokenizers of recorded runs' checkpoints, by folder. */
  private readonly tokenizers = new Map<string, Promise<TextTokenizer>>();
  private closing = false;
  private readonly files: FileAccess;
  private openai: OpenAIControl | null = null;
  /** The run probes.run is recording now, which runs.delete refuses. */
  private recordingRunId: number | null = null;

  constructor(private readonly options: EngineHostOptions) {
    this.files = new FileAccess(path.resolve(options.probesDir),
      path.resolve(options.uploadsDir ?? path.join(path.dirname(options.dbFile), 'uploaded-probes')));
  }

  /** Handles one message as received over a text transport (JSON). */
  handleText(text: string, emit: Emit): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch (err) {
      deliver(emit, { id: -1, ok: false, error: { code: 'bad-request', message: `not valid JSON: ${(err as Error).message}` } });
      return;
    }
    this.handle(message, emit);
  }

  handle(message: unknown, emit: Emit): void {
    const send = (reply: EngineMessage) => deliver(emit, reply);
    const fail = (id: number, code: ProtocolError['code'], text: string) => send({ id, ok: false, error: { code, message: text } });
    const parsed = parseClientMessage(message);
    if ('problem' in parsed) return fail(parsed.id, 'bad-request', parsed.problem);
    if ('cancel' in parsed) {
      this.jobs.get(emit)?.get(parsed.cancel)?.controller.abort();
      return;
    }
    const { id, method } = parsed;
    if (!Object.hasOwn(methodParams, method)) return fail(id, 'unknown-method', `unknown method ${JSON.stringify(method)} (methods: ${Object.keys(methodParams).join(', ')})`);
    const params = methodParams[method as Method].safeParse(parsed.params);
    if (!params.success) return fail(id, 'bad-request', `invalid params for ${method}: ${describeIssues(params.error.issues, 'params')}`);
    if (this.closing) return fail(id, 'failed', 'the engine is shutting down');
    const running = this.jobs.get(emit) ?? new Map();
    if (running.has(id)) return fail(id, 'bad-request', `request id ${id} is already in use by a running ${running.get(id)!.method} request`);
    this.jobs.set(emit, running);

    const controller = new AbortController();
    running.set(id, { controller, method: method as Method });
    if (method === 'model.open') this.cancelModelJobs(controller);
    const job: Job = { id, signal: controller.signal, event: (name, data) => send({ event: name, id, data }) };
    const settle = (reply: EngineMessage) => {
      running.delete(id);
      if (running.size === 0 && this.jobs.get(emit) === running) this.jobs.delete(emit);
      send(reply);
    };
    const handler = this.handlers[method as Method] as (p: unknown, j: Job) => Promise<MethodResult<Method>>;
    // The handler runs in a microtask, so a handler that throws synchronously still becomes an error reply.
    Promise.resolve().then(() => handler(params.data, job)).then(
      (result) => settle({ id, ok: true, result }),
      (err: unknown) => settle({ id, ok: false, error: protocolError(err, controller.signal) }),
    );
  }

  /** Cancels every job a client started; call when its connection closes. */
  cancelJobsOf(emit: Emit): void {
    for (const { controller } of this.jobs.get(emit)?.values() ?? []) controller.abort();
  }

  /** Cancels all jobs, waits for them, and releases the model and the database. */
  async dispose(): Promise<void> {
    this.closing = true;
    for (const running of this.jobs.values()) for (const { controller } of running.values()) controller.abort();
    await this.queue.idle();
    await this.unloadModel();
    this.database?.close();
    this.database = null;
  }

  /** Lets the app switch the OpenAI-compatible endpoint of the process serving this host (openai.* methods). */
  setOpenAIControl(control: OpenAIControl): void {
    this.openai = control;
  }

  /** The loaded model, null before one is open. */
  currentModel(): ModelInfo | null {
    return this.model?.info ?? null;
  }

  /**
   * Runs `task` on the loaded model in turn with the jobs that drive it (for callers outside the protocol: the
   * OpenAI-compatible endpoint); rejects with 'cancelled' when `signal` aborts while it waits.
   */
  runOnModel<T>(signal: AbortSignal, task: (model: LoadedModel) => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new HostError('failed', 'the engine is shutting down'));
    return this.queue.run(signal, () => task(this.loaded()));
  }

  private readonly handlers: Handlers = {
    'model.current': async () => this.model?.info ?? null,
    'model.open': (p, job) => this.exclusive(job, () => this.openModel(p, job)),
    'model.estimate': async (p) => this.estimate(p),
    'probes.list': async () => {
      const listing = await listProbeSets(this.files.probesDir);
      // The uploads folder exists once something was uploaded.
      const uploads = await listProbeSets(this.files.uploadsDir).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [];
        throw err;
      });
      return [...listing, ...uploads];
    },
    'probes.expand': async (p) => {
      const { file, set } = p.text === undefined ? await this.loadProbeSet(p.file) : await this.files.upload(p.file, p.text);
      const model = this.model;
      const expanded = expandProbeSet(set);
      const prompts = expanded.map(({ template: _template, slots: _slots, ...prompt }) =>
        (model ? { ...prompt, tokens: probePromptIds(set, prompt, model.tokenizer).ids.length } : prompt));
      const unknownTokens = model && unknownTokenReport(expanded, model.tokenizer, model.info.demo ? 'the demo model' : path.basename(model.info.folder));
      return {
        set: { file, id: set.id, title: set.title, type: set.type, classes: set.classes.map((c) => c.id), promptCount: prompts.length },
        prompts,
        tokenized: model && { checkpoint: model.info.checkpoint, contextLength: model.runner.spec.contextLength, ...(unknownTokens ? { unknownTokens } : {}) },
      };
    },
    'probes.run': (p, job) => this.exclusive(job, () => this.runProbeSet(p, job)),
    'probes.runRemote': (p, job) => this.runRemoteProbeSet(p, job),
    'runs.list': async () => listRuns(this.db).map((run) => runSummary(this.db, run)),
    'runs.get': async (p) => ({ run: runSummary(this.db, this.findRun(p.runId)), prompts: getPrompts(this.db, p.runId).map(recordedPrompt) }),
    'runs.heatmap': async (p) => heatmap(this.db, this.findRun(p.runId), p.span),
    'runs.rank': async (p) => {
      this.findRun(p.runId);
      return rankExperts(this.db, p.runId, p.target, p.method, p.span);
    },
    'runs.expertPrompts': async (p) => {
      const run = this.findRun(p.runId);
      if (!run.moeLayers.includes(p.layer)) throw new HostError('bad-request', `layer ${p.layer} is not a MoE layer of run ${run.id} (MoE layers: ${run.moeLayers.join(', ')})`);
      if (p.expert >= run.numExperts) throw new HostError('bad-request', `expert ${p.expert} is out of range: run ${run.id} has ${run.numExperts} experts per layer`);
      return expertPrompts(this.db, run, p.layer, p.expert, p.span, await this.tokenTexts(run));
    },
    'runs.promptRouting': async (p) => {
      const run = this.findRun(p.runId);
      const view = promptRoutingView(this.db, run, p.idx, await this.tokenTexts(run));
      if (!view) throw new HostError('not-found', `run ${run.id} has no recorded prompt ${p.idx}`);
      return view;
    },
    generate: (p, job) => this.exclusive(job, () => this.generate(p, job)),
    evaluate: (p, job) => this.exclusive(job, async () => {
      const { runner, tokenizer, info } = this.loaded();
      this.checkMask(p.mask);
      const { file: setPath, set } = await this.loadProbeSet(p.file);
      if (job.signal.aborted) throw cancelled();
      const result = await evaluateMask(runner, tokenizer, {
        set, setPath, mask: p.mask, behaviour: p.behaviour, targetClass: p.targetClass, randomControls: p.randomControls, dose: p.dose,
        maxTokens: p.maxTokens, stop: p.stop, signal: job.signal, onProgress: (done, total, condition) => job.event('evaluate.progress', { done, total, condition }),
      });
      const evaluationId = saveEvaluation(this.db, { runId: null, modelHash: info.checkpoint, setId: set.id, mask: p.mask, result: { ...result, model: info.identity } });
      return this.findEvaluation(evaluationId);
    }),
    'mask.export': async (p) => exportMask(p.mask, p.format, this.maskTarget(), p.name),
    'mask.import': async (p) => importMask(p.json, p.source ?? 'the imported mask', this.maskTarget()),
    'rankings.csv': async (p) => {
      const run = this.findRun(p.runId);
      const ranking = rankExperts(this.db, p.runId, p.target, p.method, p.span);
      const fileName = `run-${p.runId}-${run.model.precision}-${p.target}-${p.method}-${p.span}.csv`;
      return { csv: rankingCsv(ranking), fileName: fileName.replace(/[^\p{L}\p{N}._-]+/gu, '-') };
    },
    'openai.status': async () => this.openai?.status() ?? NO_OPENAI_ENDPOINT,
    'openai.setEnabled': async (p) => {
      if (!this.openai) throw new HostError('failed', 'this engine has no OpenAI-compatible endpoint to switch: use `mote serve --openai`');
      return this.openai.setEnabled(p.enabled);
    },
    'openai.saveMask': async (p) => {
      if (!this.openai) throw new HostError('failed', 'this engine has no OpenAI-compatible endpoint to save masks for');
      const { info } = this.loaded();
      try {
        this.checkMask(p.mask);
      } catch (err) {
        throw new HostError('bad-request', (err as Error).message);
      }
      return this.openai.saveMask(p.name, maskFile(p.mask, info.identity, p.name), info);
    },
    'bundle.export': async (p) => {
      const { info } = this.loaded();
      this.checkMask(p.mask);
      const run = p.runId === undefined ? undefined : this.findRun(p.runId);
      const evaluations = (p.evaluationIds ?? []).map((id) => this.findEvaluation(id));
      return runBundle({ model: info.identity, run, mask: p.mask, seed: p.seed, outputs: p.outputs, evaluations });
    },
    'evaluations.list': async () => listEvaluations(this.db).map((e) => evaluationSummary(storedEvaluation(e))),
    'evaluations.get': async (p) => this.findEvaluation(p.evaluationId),
    'evaluations.csv': async (p) => {
      const e = this.findEvaluation(p.evaluationId);
      return { csv: p.table === 'rates' ? evaluationRatesCsv(e) : evaluationPromptsCsv(e), fileName: evaluationFileName(e, p.table, 'csv') };
    },
    'probes.check': async (p) => checkProbeSetText(p.text, p.file),
    'probes.source': async (p) => this.files.source(p.file),
    'runs.delete': async (p) => {
      this.findRun(p.runId);
      if (this.recordingRunId === p.runId) throw new HostError('bad-request', `run ${p.runId} is being recorded: cancel it before deleting it`);
      deleteRun(this.db, p.runId);
      return { runId: p.runId };
    },
    'runs.annotate': async (p) => {
      this.findRun(p.runId);
      setRunNote(this.db, p.runId, p.note.trim());
      return runSummary(this.db, this.findRun(p.runId));
    },
  };

  /**
   * Loads a checkpoint (the demo model without `dir`). The folder is checked before the current model is let go;
   * the current one is disposed before the new one is built, so two large models are never held at once.
   */
  /** The checkpoint folder a request names, the demo model without one; errors name the folder. */
  private checkpointOf(dir: string | undefined): Checkpoint {
    try {
      return openCheckpoint(path.resolve(dir ?? this.options.demoModelDir));
    } catch (err) {
      throw dir === undefined ? new Error(`the demo model cannot be opened: ${(err as Error).message}`) : err;
    }
  }

  private async estimate(p: MethodParams<'model.estimate'>): Promise<MemoryEstimates> {
    if (p.dir !== undefined) await checkCheckpointFolder(p.dir);
    return memoryEstimates(this.checkpointOf(p.dir), p.context, this.options.threads, this.model?.info.memory.total ?? 0);
  }

  /**
   * Loads a checkpoint (the demo model without `dir`) at a precision. The folder is checked before the current model
   * is let go; the current one is disposed before the new one is built, so two large models are never held at once.
   */
  private async openModel(p: MethodParams<'model.open'>, job: Job): Promise<ModelInfo> {
    if (p.dir !== undefined) await checkCheckpointFolder(p.dir);
    const checkpoint = this.checkpointOf(p.dir);
    const summary = summarizeCheckpoint(checkpoint);
    const current = this.model?.info;
    const sameRequest = current && current.folder === summary.folder && current.checkpoint === summary.checkpoint &&
      (p.precision === undefined || p.precision === 'auto' || p.precision === current.precision) &&
      (p.context === undefined || p.context === current.contextLength);
    if (sameRequest) return current;
    // The guard decides before the current model is let go (its memory counts as available: it is released first),
    // so a refused model leaves the loaded one loaded.
    const available = availableMemory(current?.memory.total ?? 0);
    const plan = planMemory(checkpoint.spec, p.precision ?? 'auto', runContext(checkpoint.spec, p.context), { available, threads: this.options.threads });
    await this.unloadModel();
    const runner = await ModelRunner.open(checkpoint, {
      threads: this.options.threads, cacheDir: this.options.cacheDir, signal: job.signal, precision: plan.precision, context: p.context,
      availableMemory: available,
      onBuildProgress: (done, total) => job.event('build.progress', { done, total }),
    });
    try {
      const tokenizer = await loadTokenizer(runner.checkpoint.dir, runner.checkpoint.config);
      if (job.signal.aborted) throw cancelled();
      const demo = summary.folder === path.resolve(this.options.demoModelDir);
      this.model = { runner, tokenizer, info: modelInfo(runner, tokenizer.hasChatTemplate, demo) };
      return this.model.info;
    } catch (err) {
      await runner.dispose();
      throw err;
    }
  }

  private async runProbeSet(p: MethodParams<'probes.run'>, job: Job): Promise<MethodResult<'probes.run'>> {
    const { runner, tokenizer } = this.loaded();
    const { file, set } = await this.probeSetToRun(p);
    if (job.signal.aborted) throw cancelled();
    let runId: number | undefined;
    try {
      const result = await runProbes(this.db, runner, tokenizer, {
        set, setPath: file, generateTokens: p.generateTokens, resumeRunId: p.resumeRunId, forceNew: p.forceNew, signal: job.signal,
        onProgress: (progress) => {
          runId = progress.runId;
          this.recordingRunId = runId;
          job.event('probe.progress', progress);
        },
      });
      if (!result.alreadyRecorded) job.event('probe.finished', { runId: result.runId, status: result.status });
      return result;
    } catch (err) {
      if (runId !== undefined) job.event('probe.finished', { runId, status: 'failed' });
      throw err;
    } finally {
      this.recordingRunId = null;
    }
  }

  private async runRemoteProbeSet(p: MethodParams<'probes.runRemote'>, job: Job): Promise<MethodResult<'probes.runRemote'>> {
    const { file, set } = await this.probeSetToRun(p);
    let config: unknown;
    try {
      config = JSON.parse(p.config);
    } catch (err) {
      throw new HostError('bad-request', `the config is not valid JSON (${(err as Error).message})`);
    }
    if (!config || typeof config !== 'object' || Array.isArray(config)) throw new HostError('bad-request', 'the config is not a JSON object');
    const server = { url: p.url.replace(/\/+$/, ''), backend: p.backend, modelId: p.modelId };
    // No tokenizer comes with the config here: token texts of such runs cannot be shown.
    const model = remoteModelFromConfig(server, config as Record<string, unknown>, 'config.json', this.files.uploadsDir);
    let runId: number | undefined;
    try {
      const result = await runRemoteProbes(this.db, {
        model, apiKey: p.apiKey, set, setPath: file, generateTokens: p.generateTokens, resumeRunId: p.resumeRunId, forceNew: p.forceNew,
        concurrency: p.concurrency, signal: job.signal,
        onProgress: (progress) => {
          runId = progress.runId;
          job.event('probe.progress', progress);
        },
      });
      job.event('probe.finished', { runId: result.runId, status: result.status });
      return result;
    } catch (err) {
      if (runId !== undefined) job.event('probe.finished', { runId, status: 'failed' });
      throw err;
    }
  }

  private async generate(p: MethodParams<'generate'>, job: Job): Promise<GenerationResult> {
    const { runner, tokenizer } = this.loaded();
    const text = p.chat ? tokenizer.applyChatTemplate([{ role: 'user', content: p.prompt }], { addGenerationPrompt: true }) : p.prompt;
    const promptIds = tokenizer.encode(text, { addSpecialTokens: !p.chat });
    const k = runner.spec.topK;
    let result: GenerationResult | undefined;
    for await (const event of generate(runner, tokenizer, promptIds, {
      maxTokens: p.maxTokens, seed: p.seed, sampling: { temperature: p.temperature, topK: p.topK, topP: p.topP },
      mask: p.mask, eosTokenIds: tokenizer.eosTokenIds,
    }, job.signal)) {
      if (event.type === 'prompt') {
        const routing = event.routing;
        job.event('generate.prompt', {
          ids: event.ids, tokens: event.ids.map((id) => tokenizer.decode([id])), routing: routing ? event.ids.map((_, t) => tokenRouting(routing, t, k)) : null,
        });
      } else if (event.type === 'token') {
        job.event('generate.token', { index: event.index, id: event.id, text: event.text, routing: event.routing ? tokenRouting(event.routing, 0, k) : null });
      } else if (event.type === 'done') {
        result = { text: event.text, ids: event.ids, reason: event.reason, timing: event.timing };
      }
    }
    if (job.signal.aborted) throw cancelled();
    return result!;
  }

  private exclusive<T>(job: Job, task: () => Promise<T>): Promise<T> {
    return this.queue.run(job.signal, task);
  }

  /** A new model.open supersedes every model job started before it (they ran on the model it replaces). */
  private cancelModelJobs(except: AbortController): void {
    for (const running of this.jobs.values()) {
      for (const { controller, method } of running.values()) if (controller !== except && MODEL_JOBS.has(method)) controller.abort();
    }
  }

  private async unloadModel(): Promise<void> {
    const old = this.model;
    this.model = null;
    await old?.runner.dispose();
  }

  private loaded(): LoadedModel {
    if (!this.model) throw new HostError('no-model', 'no model is loaded: open one first (model.open)');
    return this.model;
  }

  private maskTarget(): MaskTarget {
    const { info } = this.loaded();
    return { identity: info.identity, moeLayers: info.moeLayers };
  }

  private get db(): WritableDB {
    if (!this.database) {
      fs.mkdirSync(path.dirname(this.options.dbFile), { recursive: true });
      this.database = openDatabase(this.options.dbFile);
    }
    return this.database;
  }

  private findRun(runId: number): Run {
    const run = getRun(this.db, runId);
    if (!run) throw new HostError('not-found', `run ${runId} does not exist in ${this.options.dbFile}`);
    return run;
  }

  private findEvaluation(evaluationId: number): StoredEvaluation {
    const e = getEvaluation(this.db, evaluationId);
    if (!e) throw new HostError('not-found', `evaluation ${evaluationId} does not exist in ${this.options.dbFile}`);
    return storedEvaluation(e);
  }

  /** A probe set a request names: only in the probes or uploads folder, read without blocking (FileAccess). */
  private async loadProbeSet(name: string): Promise<{ file: string; set: ProbeSet }> {
    const file = this.files.probeSet(name);
    return { file, set: await loadProbeSetAsync(file) };
  }

  /**
   * The set a probe run uses. Resuming a run whose file is the one it recorded takes the recorded set (which the
   * run continues with anyway), so a run started from the command line with a set elsewhere can be resumed.
   */
  private async probeSetToRun(p: MethodParams<'probes.run'>): Promise<{ file: string; set: ProbeSet }> {
    if (p.resumeRunId !== undefined) {
      const run = getRun(this.db, p.resumeRunId);
      if (run && path.resolve(this.files.probesDir, p.file) === path.resolve(run.setPath)) return { file: run.setPath, set: run.set };
    }
    return this.loadProbeSet(p.file);
  }

  /** A mask from a request, checked against the loaded model before any work starts. */
  private checkMask(mask: ExpertMask): void {
    assertEntriesFit(locate(mask.entries), this.maskTarget(), 'the mask');
  }

  /** A run's tokens as text pieces (tokenPieces), decoded by the tokenizer of the checkpoint it recorded. */
  private async tokenTexts(run: Run): Promise<TokenTexts> {
    const tokenizer = this.model?.runner.checkpoint.dir === run.modelDir ? this.model.tokenizer : await this.runTokenizer(run.modelDir);
    return (ids) => tokenPieces(tokenizer, ids);
  }

  private runTokenizer(dir: string): Promise<TextTokenizer> {
    let tokenizer = this.tokenizers.get(dir);
    if (!tokenizer) {
      tokenizer = Promise.resolve().then(() => loadTokenizer(dir, readJsonFile(path.join(dir, 'config.json'))));
      tokenizer.catch(() => this.tokenizers.delete(dir));
      this.tokenizers.set(dir, tokenizer);
    }
    return tokenizer;
  }
}

type ParsedMessage = z.infer<typeof requestSchema> | z.infer<typeof cancelSchema> | { id: number; problem: string };

function parseClientMessage(message: unknown): ParsedMessage {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return { id: -1, problem: 'a message is a JSON object: {id, method, params} or {cancel: id}' };
  }
  const fields = message as Record<string, unknown>;
  const schema = 'cancel' in fields && !('method' in fields) ? cancelSchema : requestSchema;
  const parsed = schema.safeParse(message);
  if (parsed.success) return parsed.data;
  const id = Number.isInteger(fields.id) && (fields.id as number) >= 0 ? fields.id as number : -1;
  return { id, problem: `malformed message: ${describeIssues(parsed.error.issues, 'message')}` };
}

/** The first MAX_LISTED_ISSUES issues, each `path: message`, then how many more. */
function describeIssues(issues: z.core.$ZodIssue[], top: string): string {
  const shown = issues.slice(0, MAX_LISTED_ISSUES).map((i) => clip(`${i.path.length ? i.path.map(String).join('.') : top}: ${i.message}`));
  const more = issues.length - shown.length;
  return [...shown, ...(more > 0 ? [`… and ${more.toLocaleString('en')} more problem${more === 1 ? '' : 's'}`] : [])].join('; ');
}

function protocolError(err: unknown, signal: AbortSignal): ProtocolError {
  if (signal.aborted) return { code: 'cancelled', message: 'cancelled' };
  const message = clip(err instanceof Error ? err.message : String(err), MAX_ERROR_MESSAGE_CHARS);
  return { code: err instanceof HostError ? err.code : 'failed', message };
}

/** A transport that fails (a closed connection) loses the message; the engine keeps running. */
function deliver(emit: Emit, message: EngineMessage): void {
  try {
    emit(message);
  } catch (err) {
    process.stderr.write(`mote engine: could not deliver a ${'event' in message ? message.event : 'reply'} message: ${(err as Error).message}\n`);
  }
}
