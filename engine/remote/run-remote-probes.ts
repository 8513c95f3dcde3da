import { answerFound, classifyOutput } from '../probes/classify.ts';
import { expandProbeSet } from '../probes/expand.ts';
import type { ProbePrompt, ProbeSet } from '../probes/probe-set.ts';
import type { ProbeProgress, ProbeRunResult } from '../probes/run-probes.ts';
import type { RemoteBackendName } from '../protocol/types.ts';
import type { WritableDB } from '../store/database.ts';
import { createRun, finishedPromptIndices, getRun, listRuns, recordPrompt, setRunStatus, type PromptRecord, type Run } from '../store/runs.ts';
import { postJson, type RetryPolicy } from './http-client.ts';
import { moeLayerPositions, type RemoteBackend, type RemoteCompletion } from './remote-backend.ts';
import type { RemoteModelInfo } from './remote-model.ts';
import { sglang } from './sglang.ts';
import { vllm } from './vllm.ts';

export const REMOTE_BACKENDS: Record<RemoteBackendName, RemoteBackend> = { sglang, vllm };

export interface RemoteProbeRunOptions {
  model: RemoteModelInfo;
  apiKey?: string;
  set: ProbeSet;
  setPath: string;
  /** Greedy tokens generated after each prompt (0 = the prompt's routing only). */
  generateTokens: number;
  /** Requests in flight at once. */
  concurrency?: number;
  retry?: RetryPolicy;
  resumeRunId?: number;
  forceNew?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: ProbeProgress) => void;
}

export const DEFAULT_CONCURRENCY = 4;

function findResumable(db: WritableDB, opts: RemoteProbeRunOptions): Run | undefined {
  const setJson = JSON.stringify(opts.set);
  return listRuns(db).find((r) => r.status !== 'finished' && r.modelHash === opts.model.hash && JSON.stringify(r.set) === setJson &&
    r.generateTokens === opts.generateTokens && r.mask === null && !r.recordLogits);
}

/**
 * A probe run through an SGLang or vLLM server (DESIGN §6, as runProbes): the server renders each prompt with the
 * model's chat template, tokenizes and generates greedily; its per-token expert ids are stored in the same schema
 * as a local run's, each prompt with its counts in one transaction, so an interrupted run resumes from the prompts
 * already recorded. Servers send no mixing weights: they are stored as NaN (rankings use only the expert ids).
 * With generation, the last generated token's routing is missing when generation stopped at the token limit (the
 * server never fed it back); a stop token (EOS) is not stored, as in local runs, so the tokens before it all have
 * their routing.
 */
export async function runRemoteProbes(db: WritableDB, opts: RemoteProbeRunOptions): Promise<ProbeRunResult> {
  const { model } = opts;
  const { shape, server } = model;
  const backend = REMOTE_BACKENDS[server.backend];
  let run: Run | undefined;
  if (opts.resumeRunId !== undefined) {
    run = getRun(db, opts.resumeRunId);
    if (!run) throw new Error(`run ${opts.resumeRunId} does not exist`);
    if (run.modelHash !== model.hash) throw new Error(`run ${run.id} was recorded with another server, model or config (${run.model.remote ? `${run.model.remote.backend} ${run.model.remote.url} ${run.model.remote.modelId}` : run.modelDir})`);
    if (run.status === 'finished') throw new Error(`run ${run.id} is already finished`);
  } else if (!opts.forceNew) {
    run = findResumable(db, opts);
  }
  const set = run?.set ?? opts.set;
  const setPath = run?.setPath ?? opts.setPath;
  const generateTokens = run?.generateTokens ?? opts.generateTokens;
  if (set.chat === false) throw new Error(`${setPath}: remote runs send chat messages; a set with "chat": false (raw prompts) cannot be run remotely`);
  if (set.type === 'paired') throw new Error(`${setPath}: paired (teacher-forced) sets cannot be run remotely: the servers' chat endpoints generate rather than score a given response`);
  const prompts = expandProbeSet(set);
  const runId = run?.id ?? createRun(db, {
    modelDir: model.configDir, modelHash: model.hash, model: model.identity, setId: set.id, setPath, set,
    generateTokens, mask: null, recordLogits: false, promptCount: prompts.length,
    moeLayers: shape.moeLayers, numExperts: shape.numExperts, topK: shape.topK,
  });
  if (run) setRunStatus(db, runId, 'running');

  const finished = finishedPromptIndices(db, runId);
  const resumedFrom = finished.size;
  let recorded = 0;
  const progress = (prompt?: ProbeProgress['prompt']) => opts.onProgress?.({ runId, done: finished.size + recorded, total: prompts.length, prompt });
  progress();

  const url = server.url.replace(/\/+$/, '') + backend.chatPath;
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  const compute = async (prompt: ProbePrompt): Promise<PromptRecord> => {
    const body = backend.chatBody({ modelId: server.modelId, text: prompt.text, maxTokens: Math.max(1, generateTokens) });
    const answer = await postJson(url, body, { apiKey: opts.apiKey, retry: opts.retry, signal });
    let completion: RemoteCompletion;
    try {
      completion = backend.parseChat(answer, shape);
      return toRecord(prompt, completion);
    } catch (err) {
      throw new Error(`${url} (${backend.name}), prompt ${prompt.index}: ${(err as Error).message}`);
    }
  };
  const toRecord = (prompt: ProbePrompt, c: RemoteCompletion): PromptRecord => {
    const expected = c.promptIds.length + c.outputIds.length - 1;
    if (c.rows !== expected) {
      const omitted = c.cachedTokens > 0 && c.rows === expected - c.cachedTokens
        ? ` — the server left out its ${c.cachedTokens} prefix-cached prompt tokens (vLLM --enable-omit-prefix-routed-experts); run it without that option` : '';
      throw new Error(`routing for ${c.rows} tokens, expected ${expected} (${c.promptIds.length} prompt + ${c.outputIds.length} generated − 1)${omitted}`);
    }
    if (c.promptIds.length === 0) throw new Error('the server reports an empty prompt');
    if (c.outputIds.length === 0) throw new Error('the server generated no token, so the last prompt token was never routed');
    const generated = generateTokens === 0 ? [] : c.stopped ? c.outputIds.slice(0, -1) : c.outputIds;
    const tokenIds = [...c.promptIds, ...generated];
    const tokens = Math.min(c.rows, tokenIds.length);
    const positions = moeLayerPositions(c.layersInPayload, shape);
    const L = positions.length;
    const k = shape.topK;
    const selected = new Int16Array(tokens * L * k);
    for (let t = 0; t < tokens; t++) {
      for (let l = 0; l < L; l++) {
        for (let j = 0; j < k; j++) {
          const expert = c.routed[(t * c.layersInPayload + positions[l]) * k + j];
          if (expert < 0 || expert >= shape.numExperts) {
            throw new Error(`token ${t}, layer ${shape.moeLayers[l]}: expert ${expert} is outside 0..${shape.numExperts - 1} of the config`);
          }
          selected[(t * L + l) * k + j] = expert;
        }
      }
    }
    const outputText = generateTokens > 0 ? c.text : '';
    const label = set.classifier && generateTokens > 0 ? classifyOutput(set.classifier, outputText) : null;
    return {
      idx: prompt.index, class: prompt.class, text: prompt.text, responseForced: null, answer: prompt.answer ?? null,
      tokenIds: Int32Array.from(tokenIds), promptTokens: c.promptIds.length, outputText, label,
      correct: prompt.answer !== undefined && label !== null ? answerFound(prompt.answer, outputText) : null,
      selected, weights: new Float32Array(selected.length).fill(NaN),
    };
  };

  // Answers may arrive out of order; prompts are committed in index order, as a local run commits them, so the
  // floating-point sums in the counts (and so the rankings) come out bit for bit as a local run's, resumed or not.
  const pending = prompts.filter((p) => !finished.has(p.index));
  const workers = Math.max(1, Math.min(opts.concurrency ?? DEFAULT_CONCURRENCY, pending.length));
  const window = 2 * workers;
  const answered = new Map<number, PromptRecord>();
  let next = 0;
  let commitAt = 0;
  let failure: Error | undefined;
  let waiting: (() => void)[] = [];
  const wakeAll = () => {
    for (const wake of waiting) wake();
    waiting = [];
  };
  signal.addEventListener('abort', wakeAll);
  const commitReady = () => {
    for (let record = answered.get(commitAt); record; record = answered.get(commitAt)) {
      answered.delete(commitAt++);
      if (recordPrompt(db, runId, record, shape.moeLayers, shape.topK)) recorded++;
      progress({ index: record.idx, class: record.class, label: record.label, tokens: record.tokenIds.length });
    }
    wakeAll();
  };
  const worker = async () => {
    while (!failure && !signal.aborted && next < pending.length) {
      if (next >= commitAt + window) {
        await new Promise<void>((resolve) => waiting.push(resolve));
        continue;
      }
      const at = next++;
      try {
        answered.set(at, await compute(pending[at]));
        commitReady();
      } catch (err) {
        if (!failure && !opts.signal?.aborted) failure = err as Error;
        stop.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure) {
    setRunStatus(db, runId, 'failed', failure.message);
    throw failure;
  }
  if (opts.signal?.aborted) {
    setRunStatus(db, runId, 'cancelled');
    return { runId, status: 'cancelled', resumedFrom, recorded };
  }
  setRunStatus(db, runId, 'finished');
  return { runId, status: 'finished', resumedFrom, recorded };
}
