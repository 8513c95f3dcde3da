import type { ExpertMask } from '../steering/mask.ts';
import { EMPTY_MASK } from '../steering/mask.ts';
import { endOfTurnTokenIds } from '../model/end-of-turn.ts';
import type { TextTokenizer } from '../model/tokenizer.ts';
import { generate } from '../runtime/generate.ts';
import type { ModelRunner } from '../runtime/model-runner.ts';
import { SequenceRouting } from '../runtime/routing-layout.ts';
import type { WritableDB } from '../store/database.ts';
import { createRun, finishedPromptIndices, getRun, listRuns, recordPrompt, setRunStatus, type PromptRecord, type Run } from '../store/runs.ts';
import { answerFound, classifyOutput } from './classify.ts';
import { expandProbeSet } from './expand.ts';
import type { ProbePrompt, ProbeSet } from './probe-set.ts';
import { tokenizePrompts } from './prompt-tokens.ts';

export interface ProbeRunOptions {
  set: ProbeSet;
  setPath: string;
  /** Greedy tokens generated after each prompt (0 = prefill only; paired sets are teacher-forced). */
  generateTokens: number;
  mask?: ExpertMask;
  recordLogits?: boolean;
  /** Resume this run instead of starting or auto-resuming one. */
  resumeRunId?: number;
  /** Start a new run even when a run of the same model, set and options exists (else an unfinished one is resumed, a finished one reported). */
  forceNew?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: ProbeProgress) => void;
}

export interface ProbeProgress {
  runId: number;
  done: number;
  total: number;
  /** Set once per recorded prompt. */
  prompt?: { index: number; class: string; label: string | null; tokens: number };
}

export interface ProbeRunResult {
  runId: number;
  status: Run['status'];
  resumedFrom: number;
  recorded: number;
  /**
   * Set when nothing was run because a finished run of the same model, set and options exists (runId): recording
   * it again takes forceNew.
   */
  alreadyRecorded?: { finishedAt: string | null };
}

/**
 * The newest run of the same model, probe set content and options, unfinished (which a new request continues) or
 * finished (which a new request does not silently repeat).
 */
function findIdentical(db: WritableDB, runner: ModelRunner, set: ProbeSet, opts: ProbeRunOptions, finished: boolean): Run | undefined {
  const setJson = JSON.stringify(set);
  const maskJson = JSON.stringify(opts.mask ?? null);
  return listRuns(db).find((r) => (r.status === 'finished') === finished && r.modelHash === runner.checkpoint.contentHash &&
    r.model.precision === runner.precision && JSON.stringify(r.set) === setJson && r.generateTokens === opts.generateTokens &&
    JSON.stringify(r.mask) === maskJson && r.recordLogits === Boolean(opts.recordLogits));
}

/**
 * fTRI probe run (DESIGN §6): every expanded prompt is run, its output classified, and its tokens and routing
 * recorded with the per-class counts in one transaction. Prompts already recorded are skipped, so a run killed at
 * any point resumes from the last finished prompt and ends with the same counts as an uninterrupted one.
 */
export async function runProbes(db: WritableDB, runner: ModelRunner, tokenizer: TextTokenizer, opts: ProbeRunOptions): Promise<ProbeRunResult> {
  const { set } = opts;
  const prompts = expandProbeSet(set);
  const spec = runner.spec;
  let run: Run | undefined;
  if (opts.resumeRunId !== undefined) {
    run = getRun(db, opts.resumeRunId);
    if (!run) throw new Error(`run ${opts.resumeRunId} does not exist`);
    if (run.modelHash !== runner.checkpoint.contentHash) throw new Error(`run ${run.id} was recorded with checkpoint ${run.modelHash}, not the loaded ${runner.checkpoint.contentHash}`);
    if (run.status === 'finished') throw new Error(`run ${run.id} is already finished`);
    const recordedAt = run.model.precision;
    if (recordedAt !== runner.precision) throw new Error(`run ${run.id} was recorded at precision ${recordedAt}; the model is loaded at ${runner.precision} — reopen it at ${recordedAt} to resume`);
  } else if (!opts.forceNew) {
    run = findIdentical(db, runner, set, opts, false);
    const done = run ? undefined : findIdentical(db, runner, set, opts, true);
    if (done) {
      const count = finishedPromptIndices(db, done.id).size;
      return { runId: done.id, status: 'finished', resumedFrom: count, recorded: 0, alreadyRecorded: { finishedAt: done.finishedAt } };
    }
  }
  const runSet = run?.set ?? set;
  const runPrompts = run ? expandProbeSet(run.set) : prompts;
  const idsByPrompt = tokenizePrompts(runSet, run?.setPath ?? opts.setPath, runPrompts, tokenizer, spec.contextLength);
  const mask = opts.mask ?? EMPTY_MASK;
  const runId = run?.id ?? createRun(db, {
    modelDir: runner.checkpoint.dir,
    modelHash: runner.checkpoint.contentHash,
    model: runner.identity,
    setId: set.id,
    setPath: opts.setPath,
    set,
    generateTokens: opts.generateTokens,
    mask: opts.mask ?? null,
    recordLogits: Boolean(opts.recordLogits),
    promptCount: prompts.length,
    moeLayers: runner.moeLayers,
    numExperts: spec.numExperts,
    topK: spec.topK,
  });
  const generateTokens = run?.generateTokens ?? opts.generateTokens;
  const runMask = run?.mask ?? mask;
  const keepLogits = run?.recordLogits ?? Boolean(opts.recordLogits);
  if (run) setRunStatus(db, runId, 'running');

  const finished = finishedPromptIndices(db, runId);
  const resumedFrom = finished.size;
  const steering = runner.steering(runMask);
  let recorded = 0;
  const progress = (prompt?: ProbeProgress['prompt']) =>
    opts.onProgress?.({ runId, done: finished.size + recorded, total: runPrompts.length, prompt });
  progress();
  const endOfTurn = endOfTurnTokenIds(tokenizer);
  /** Runs one prompt through the model; resolves to what recordPrompt stores. */
  const compute = async (prompt: ProbePrompt): Promise<PromptRecord> => {
    const { ids, promptTokens } = idsByPrompt.get(prompt.index)!;
    const routing = new SequenceRouting(runner.moeLayers.length, spec.topK, spec.numExperts, keepLogits);
    const tokenIds = [...ids];
    let outputText = '';
    if (prompt.response !== undefined || generateTokens === 0) {
      const { result } = await runner.step(runner.emptyCache(), ids, steering, 1);
      if (result.routing) routing.append(result.routing);
      outputText = prompt.response ?? '';
    } else {
      for await (const event of generate(runner, tokenizer, ids, {
        maxTokens: generateTokens, mask: runMask, eosTokenIds: endOfTurn,
      })) {
        if (event.type === 'prompt' && event.routing) routing.append(event.routing);
        if (event.type === 'token') {
          tokenIds.push(event.id);
          if (event.routing) routing.append(event.routing);
        }
        if (event.type === 'done') outputText = event.text;
      }
    }
    const label = runSet.classifier && prompt.response === undefined && generateTokens > 0 ? classifyOutput(runSet.classifier, outputText) : null;
    return {
      idx: prompt.index,
      class: prompt.class,
      text: prompt.text,
      responseForced: prompt.response ?? null,
      answer: prompt.answer ?? null,
      tokenIds: Int32Array.from(tokenIds),
      promptTokens,
      outputText,
      label,
      correct: prompt.answer !== undefined && label !== null ? answerFound(prompt.answer, outputText, runSet.classifier?.answerMatch) : null,
      ...routing.toArrays(),
    };
  };
  const store = (record: PromptRecord) => {
    if (recordPrompt(db, runId, record, runner.moeLayers, spec.topK)) recorded++;
    progress({ index: record.idx, class: record.class, label: record.label, tokens: record.tokenIds.length });
  };

  try {
    for (const prompt of runPrompts) {
      if (finished.has(prompt.index)) continue;
      if (opts.signal?.aborted) {
        setRunStatus(db, runId, 'cancelled');
        return { runId, status: 'cancelled', resumedFrom, recorded };
      }
      store(await compute(prompt));
    }
  } catch (err) {
    setRunStatus(db, runId, 'failed', (err as Error).message);
    throw err;
  }
  setRunStatus(db, runId, 'finished');
  return { runId, status: 'finished', resumedFrom, recorded };
}
