import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { evaluateMask } from '../analysis/evaluate.ts';
import { storedEvaluation } from '../analysis/evaluation-record.ts';
import { rankExperts } from '../analysis/rank.ts';
import { cutWithTies, describeCutTie, describeIncludedTie, isTied, tieAtCut, TIE_ORDER } from '../common/ranking-ties.ts';
import { formatP, formatScore } from '../common/statistics-format.ts';
import type { RankMethod } from '../protocol/types.ts';
import { MAX_RUN_NOTE_CHARS } from '../protocol/methods.ts';
import { expandProbeSet } from '../probes/expand.ts';
import { loadProbeSet } from '../probes/load-probe-set.ts';
import { unknownTokenReport } from '../probes/unknown-tokens.ts';
import { summarizeProbeSet } from '../probes/probe-set-check.ts';
import type { ProbePrompt, ProbeSet } from '../probes/probe-set.ts';
import { probePromptIds } from '../probes/prompt-tokens.ts';
import { ProbeSetError } from '../probes/problems.ts';
import { openCheckpoint } from '../model/checkpoint.ts';
import { loadTokenizer } from '../model/tokenizer.ts';
import { runContext } from '../runtime/memory-guard.ts';
import { runProbes } from '../probes/run-probes.ts';
import { remoteModelInfo } from '../remote/remote-model.ts';
import { DEFAULT_CONCURRENCY, runRemoteProbes } from '../remote/run-remote-probes.ts';
import type { TextTokenizer } from '../model/tokenizer.ts';
import type { ModelRunner } from '../runtime/model-runner.ts';
import { openDatabase, type WritableDB } from '../store/database.ts';
import { defaultDatabaseFile } from '../store/default-location.ts';
import { deleteRun, getEvaluation, getPrompts, getRun, listRuns, saveEvaluation, setRunNote } from '../store/runs.ts';
import { SPANS, type Span } from '../store/span-counts.ts';
import { readMaskFile } from '../steering/mask-file.ts';
import { exportMask, MASK_FORMATS, type MaskFormat } from '../steering/mask-exchange.ts';
import { choiceArg, intArg } from './arguments.ts';
import { formatEvaluation } from './evaluation-format.ts';
import { fitMask, modelOptions, openModel, type ModelOpenOptions } from './open-model.ts';
import { progressReporter } from './progress.ts';

export const dbOption = ['--db <file>', `SQLite file runs are recorded in (default ${defaultDatabaseFile()}; set MOTE_DATA_DIR to move it)`] as const;

export function openDb(file: string | undefined) {
  const target = file ?? defaultDatabaseFile();
  fs.mkdirSync(path.dirname(target), { recursive: true });
  return openDatabase(target);
}

/** A CLI job on a model: opens the database and the model, turns Ctrl-C into a cancel, and closes both after. */
async function withModelJob(opts: ModelOpenOptions & { db?: string; model: string },
  job: (ctx: { db: WritableDB; runner: ModelRunner; tokenizer: TextTokenizer; signal: AbortSignal }) => Promise<void>): Promise<void> {
  const db = openDb(opts.db);
  try {
    const { runner, tokenizer } = await openModel(opts.model, opts);
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    try {
      await job({ db, runner, tokenizer, signal: abort.signal });
    } finally {
      await runner.dispose();
    }
  } finally {
    db.close();
  }
}

const runIdArg = intArg('the run id', 1);

/** Each prompt's token count (by index) with a checkpoint's tokenizer, and the context it would run with. */
async function countPromptTokens(set: ProbeSet, prompts: ProbePrompt[], dir: string): Promise<{ context: number; counts: number[] }> {
  const checkpoint = openCheckpoint(dir);
  const tokenizer = await loadTokenizer(checkpoint.dir, checkpoint.config);
  const counts: number[] = [];
  for (const p of prompts) counts[p.index] = probePromptIds(set, p, tokenizer).ids.length;
  return { context: runContext(checkpoint.spec), counts };
}


export function registerProbeCommands(program: Command): void {
  const probe = program.command('probe').description('fTRI probe runs: record the routing of every prompt of a probe set');
  const probeRun = probe
    .command('run')
    .description('run every prompt of a probe set on a checkpoint (--model) or through an SGLang/vLLM server (--remote), classify outputs and record tokens and routing; an interrupted run resumes where it stopped')
    .option('--model <dir>', 'Hugging Face checkpoint folder (or --remote)')
    .requiredOption('--set <file>', 'probe set (.json, .yaml)')
    .option(...dbOption)
    .option('--generate <n>', 'greedy tokens generated per prompt and classified (0 = prompt only)', intArg('--generate'), 0)
    .option('--remote <url>', 'record through an SGLang or vLLM server started with --enable-return-routed-experts, instead of --model')
    .option('--backend <name>', 'the server at --remote: sglang or vllm', choiceArg('--backend', ['sglang', 'vllm'] as const))
    .option('--model-id <name>', 'the model name the server serves (the OpenAI "model" field)')
    .option('--api-key <key>', 'bearer token for the server (or set MOTE_REMOTE_API_KEY, which stays out of process lists)')
    .option('--config <file>', "the served model's config.json (layers, experts, top-k; tokenizer files beside it give token texts)")
    .option('--concurrency <n>', 'requests in flight at once with --remote', intArg('--concurrency', 1), DEFAULT_CONCURRENCY)
    .option('--mask <file>', 'record under this expert mask')
    .option('--record-logits', 'also store the full router logits of every token')
    .option('--resume <id>', 'resume this run', intArg('--resume', 1))
    .option('--new', 'start a new run even if an unfinished identical one exists');
  modelOptions(probeRun)
    .action(async (opts: ModelOpenOptions & RemoteRunFlags & { model?: string; set: string; db?: string; generate: number; mask?: string; recordLogits?: boolean; resume?: number; new?: boolean }) => {
      const set = loadProbeSet(opts.set);
      if (opts.remote !== undefined) return runRemoteCommand(opts, set);
      if (opts.model === undefined) throw new InvalidArgumentError('give --model DIR, or --remote URL --backend sglang|vllm --model-id NAME --config FILE');
      const model = opts.model;
      const parsedMask = opts.mask === undefined ? undefined : readMaskFile(opts.mask);
      await withModelJob({ ...opts, model }, async ({ db, runner, tokenizer, signal }) => {
        const mask = opts.mask && parsedMask ? fitMask(runner, opts.mask, parsedMask) : undefined;
        const unknown = unknownTokenReport(expandProbeSet(set), tokenizer, path.basename(path.resolve(model)));
        if (unknown?.warning) console.error(`warning: ${opts.set}: ${unknown.warning}`);
        const report = progressReporter('probing');
        const result = await runProbes(db, runner, tokenizer, {
          set, setPath: path.resolve(opts.set), generateTokens: opts.generate, mask, recordLogits: opts.recordLogits,
          resumeRunId: opts.resume, forceNew: opts.new, signal,
          onProgress: (p) => report(p.done, p.total, p.prompt ? `${p.prompt.class}${p.prompt.label ? ` → ${p.prompt.label}` : ''}` : ''),
        });
        if (result.alreadyRecorded) {
          const when = result.alreadyRecorded.finishedAt ? ` (finished ${result.alreadyRecorded.finishedAt})` : '';
          console.log(`this set was already recorded as run ${result.runId}${when} with the same model, precision and options: see \`mote runs show ${result.runId}\`, or record it again with --new`);
          return;
        }
        const resumed = result.resumedFrom ? ` (resumed after ${result.resumedFrom} recorded prompts)` : '';
        console.log(`run ${result.runId}: ${result.status}, ${result.recorded} prompts recorded${resumed}`);
        if (result.status === 'cancelled') process.exitCode = 130;
      });
    });

  probe
    .command('check <file>')
    .description('validate a probe set: its classes and prompt counts, or every problem with its line (exit code 1 on problems)')
    .option('--model <dir>', "also count each prompt's tokens with this checkpoint's tokenizer and check them against its context")
    .option('--json', 'as JSON')
    .action(async (file: string, opts: { model?: string; json?: boolean }) => {
      let set: ProbeSet;
      try {
        set = loadProbeSet(file);
      } catch (err) {
        if (!(err instanceof ProbeSetError)) throw err;
        if (opts.json) console.log(JSON.stringify({ ok: false, problems: err.problems, total: err.total }, null, 2));
        else console.error(err.message);
        process.exitCode = 1;
        return;
      }
      const prompts = expandProbeSet(set);
      const summary = summarizeProbeSet(set, prompts);
      const tokens = opts.model === undefined ? null : await countPromptTokens(set, prompts, opts.model);
      const overContext = tokens ? prompts.filter((p) => tokens.counts[p.index] > tokens.context).length : 0;
      if (overContext > 0) process.exitCode = 1;
      if (opts.json) return console.log(JSON.stringify({ ...summary, tokens: tokens && { context: tokens.context, overContext, perPrompt: tokens.counts } }, null, 2));
      console.log(`${file}: valid — set ${summary.id} "${summary.title}" (${summary.type}), ${summary.promptCount} prompts`);
      for (const c of summary.classes) {
        const counts = tokens ? prompts.filter((p) => p.class === c.class).map((p) => tokens.counts[p.index]) : [];
        const range = counts.length ? `; tokens ${Math.min(...counts)}–${Math.max(...counts)}, mean ${(counts.reduce((a, b) => a + b, 0) / counts.length).toFixed(1)}` : '';
        console.log(`  ${c.class}: ${c.prompts} prompts${range}`);
      }
      if (tokens) {
        console.log(overContext > 0
          ? `${overContext} of ${prompts.length} prompts are longer than the model's context of ${tokens.context} tokens: this set cannot run on ${opts.model}`
          : `every prompt fits the model's context of ${tokens.context} tokens`);
      }
    });

  const runs = program.command('runs').description('recorded probe runs');
  runs
    .command('list')
    .description('every run in the database, newest first')
    .option(...dbOption)
    .option('--json', 'as JSON')
    .action((opts: { db?: string; json?: boolean }) => {
      const db = openDb(opts.db);
      const all = listRuns(db).map((r) => ({ ...r, recorded: getPrompts(db, r.id).length }));
      db.close();
      if (opts.json) return console.log(JSON.stringify(all.map(({ set: _set, ...r }) => r), null, 2));
      if (!all.length) return console.log('no runs yet: start one with `mote probe run --model DIR --set FILE`');
      console.log(['id', 'status', 'prompts', 'set', 'model', 'created', 'note'].join('\t'));
      for (const r of all) console.log([r.id, r.status, `${r.recorded}/${r.promptCount}`, r.setId, r.model.remote ? `${r.model.architecture} ${r.model.remote.backend} ${r.model.remote.modelId}` : `${r.model.architecture} ${r.model.precision} ${r.modelHash.slice(0, 8)}`, r.createdAt, r.note.replace(/\s+/g, ' ')].join('\t'));
    });
  runs
    .command('delete')
    .description('delete a run with its recorded prompts, routing and counts (evaluations made on it are kept)')
    .argument('<id>', 'run id', runIdArg)
    .option(...dbOption)
    .action((id: number, opts: { db?: string }) => {
      const db = openDb(opts.db);
      try {
        const run = getRun(db, id);
        if (!run) throw new Error(`run ${id} does not exist in ${opts.db ?? defaultDatabaseFile()}`);
        const recorded = getPrompts(db, run.id).length;
        deleteRun(db, run.id);
        console.log(`deleted run ${run.id} (${run.setId}, ${run.status}, ${recorded} prompts recorded)`);
      } finally {
        db.close();
      }
    });
  runs
    .command('annotate')
    .description("set a run's note, shown in `runs list` and the app (an empty note clears it)")
    .argument('<id>', 'run id', runIdArg)
    .argument('<note>', 'the note')
    .option(...dbOption)
    .action((id: number, note: string, opts: { db?: string }) => {
      const db = openDb(opts.db);
      try {
        const run = getRun(db, id);
        if (!run) throw new Error(`run ${id} does not exist in ${opts.db ?? defaultDatabaseFile()}`);
        if (note.length > MAX_RUN_NOTE_CHARS) throw new Error(`a note may be at most ${MAX_RUN_NOTE_CHARS} characters; this one has ${note.length}`);
        setRunNote(db, run.id, note.trim());
        console.log(note.trim() ? `run ${run.id}: note set` : `run ${run.id}: note cleared`);
      } finally {
        db.close();
      }
    });
  runs
    .command('show <id>')
    .description("a run's settings, per-class totals and classified outputs")
    .option(...dbOption)
    .option('--json', 'as JSON')
    .action((id: string, opts: { db?: string; json?: boolean }) => {
      const db = openDb(opts.db);
      const run = getRun(db, Number(id));
      if (!run) throw new Error(`run ${id} does not exist in ${opts.db ?? defaultDatabaseFile()}`);
      const prompts = getPrompts(db, run.id);
      db.close();
      if (opts.json) return console.log(JSON.stringify({ run, prompts }, null, 2));
      console.log(`run ${run.id} — ${run.status}${run.error ? ` (${run.error})` : ''}`);
      const remote = run.model.remote;
      console.log(remote
        ? `model   ${remote.modelId} on ${remote.backend} at ${remote.url} (${run.model.architecture}, config ${run.modelDir})`
        : `model   ${run.modelDir} (${run.model.architecture}, ${run.model.precision}, ${run.modelHash})`);
      console.log(`set     ${run.setId} (${run.setPath})`);
      if (run.note) console.log(`note    ${run.note}`);
      console.log(`prompts ${prompts.length}/${run.promptCount} recorded; generate ${run.generateTokens} tokens; mask ${run.mask ? `${run.mask.entries.length} entries` : 'none'}`);
      for (const c of run.set.classes) {
        const ofClass = prompts.filter((p) => p.class === c.id);
        const labels = new Map<string, number>();
        for (const p of ofClass) if (p.label) labels.set(p.label, (labels.get(p.label) ?? 0) + 1);
        const answered = ofClass.filter((p) => p.correct !== null);
        console.log(`  ${c.id}: ${ofClass.length} prompts` +
          (labels.size ? `; labels ${[...labels].map(([l, n]) => `${l} ${n}`).join(', ')}` : '') +
          (answered.length ? `; correct ${answered.filter((p) => p.correct).length}/${answered.length}` : ''));
      }
    });

  program
    .command('rank')
    .description('rank experts by their association with a class (MoTE score or risk difference), with p-values')
    .requiredOption('--run <id>', 'probe run', intArg('--run', 1))
    .requiredOption('--target <class>', 'the behaviour class')
    .option('--method <m>', 'mote (mean per-prompt map difference) or rd (risk difference of token rates)', choiceArg('--method', ['mote', 'rd'] as const), 'mote')
    .option('--span <s>', 'tokens scored: prompt, response or last (prompt token)', choiceArg('--span', SPANS), 'prompt')
    .option('--top <n>', 'experts listed (and written with --mask-out)', intArg('--top', 1), 10)
    .option('--include-ties', 'when the cut at --top splits experts of equal score, take all of them')
    .option('--mask-out <file>', 'write the top experts as an "off" mask, in rank order')
    .option('--mask-format <f>', 'file format of --mask-out: mote, easysteer (layer_configs) or steermoe (moe_manual_weights matrix)', choiceArg('--mask-format', MASK_FORMATS), 'mote')
    .option(...dbOption)
    .option('--json', 'as JSON')
    .action((opts: { run: number; target: string; method: RankMethod; span: Span; top: number; includeTies?: boolean; maskOut?: string; maskFormat: MaskFormat; db?: string; json?: boolean }) => {
      const db = openDb(opts.db);
      const run = getRun(db, opts.run);
      const ranking = rankExperts(db, opts.run, opts.target, opts.method, opts.span);
      db.close();
      const ranks = ranking.scores.map((s) => s.rank);
      const tie = tieAtCut(ranks, opts.top);
      const top = ranking.scores.slice(0, opts.includeTies ? cutWithTies(ranks, opts.top) : opts.top);
      const tieNote = tie && (opts.includeTies
        ? describeIncludedTie(tie, formatScore(top[tie.rank - 1].score), opts.top)
        : describeCutTie(tie, formatScore(ranking.scores[tie.rank - 1].score), 'pass --include-ties'));
      if (opts.maskOut && run) {
        const entries = top.map((s) => ({ layer: s.layer, expert: s.expert, state: 'off' as const }));
        const name = `top ${opts.top} ${opts.method} experts for ${opts.target} (run ${run.id})`;
        const tied = tie && ranking.scores.slice(tie.rank - 1, tie.rank - 1 + tie.size);
        const ties = tie && tied
          ? { rank: tie.rank, score: tied[0].score, experts: tied.map(({ layer, expert }) => ({ layer, expert })), inMask: opts.includeTies ? tie.size : tie.kept, order: TIE_ORDER }
          : undefined;
        const { json } = exportMask({ mode: 'backfill', forceWeight: 'natural', entries }, opts.maskFormat, { identity: run.model, moeLayers: run.moeLayers }, name, ties);
        fs.writeFileSync(opts.maskOut, json);
      }
      if (opts.json) return console.log(JSON.stringify({ ...ranking, scores: top, ...(tie ? { tieAtCut: { ...tie, included: opts.includeTies === true } } : {}) }, null, 2));
      console.log(`run ${opts.run}, target ${opts.target} (${ranking.targetPrompts} prompts) vs others (${ranking.otherPrompts}), ${opts.method}, span ${opts.span}`);
      console.log(['rank', 'layer', 'expert', 'score', 'rate target', 'rate other', 'p', 'q (BH)'].join('\t'));
      top.forEach((s, i) => console.log([isTied(ranks, i) ? `${s.rank}=` : s.rank, s.layer, s.expert, formatScore(s.score), s.rateTarget.toFixed(3), s.rateOther.toFixed(3), formatP(s.p), formatP(s.q)].join('\t')));
      if (top.some((_, i) => isTied(ranks, i))) console.log(`"=": tied score; tied experts are listed by ${TIE_ORDER}`);
      if (tieNote) console.log(tieNote);
      if (opts.maskOut) console.error(`wrote ${opts.maskOut}`);
    });

  const evalCommand = program
    .command('eval')
    .description('behaviour rate and benign accuracy with and without a mask, against random masks of the same size, with a dose-response and forcing')
    .requiredOption('--model <dir>', 'Hugging Face checkpoint folder')
    .requiredOption('--set <file>', 'evaluation probe set (with a classifier)')
    .requiredOption('--mask <file>', 'expert mask; its entries in rank order')
    .option('--random-control <k>', 'random masks of the same size', intArg('--random-control'), 5)
    .option('--dose <n>', 'dose-response over the first 1…n mask entries (0 = skip)', intArg('--dose'), 0)
    .option('--behaviour <label>', "classifier label counted as the behaviour (default: the classifier's first rule)")
    .option('--target <class>', 'class the behaviour is expected on (default: the behaviour label if it is a class)')
    .option('--max-tokens <n>', 'greedy tokens generated per prompt', intArg('--max-tokens', 1), 32)
    .option('--stop <text...>', "end each output before this text (besides EOS and the chat template's end-of-turn marker)")
    .option('--changed', 'list every prompt whose outcome the mask changed (default: the first 5)')
    .option(...dbOption)
    .option('--json', 'as JSON');
  modelOptions(evalCommand)
    .action(async (opts: ModelOpenOptions & { model: string; set: string; mask: string; randomControl: number; dose: number; behaviour?: string; target?: string; maxTokens: number; stop?: string[]; changed?: boolean; db?: string; json?: boolean }) => {
      const set = loadProbeSet(opts.set);
      const parsedMask = readMaskFile(opts.mask);
      await withModelJob(opts, async ({ db, runner, tokenizer, signal }) => {
        const mask = fitMask(runner, opts.mask, parsedMask);
        const report = progressReporter('evaluating');
        const result = await evaluateMask(runner, tokenizer, {
          set, setPath: path.resolve(opts.set), mask, behaviour: opts.behaviour, targetClass: opts.target, randomControls: opts.randomControl, dose: opts.dose,
          maxTokens: opts.maxTokens, stop: opts.stop, signal, onProgress: (done, total, name) => report(done, total, name),
        });
        const id = saveEvaluation(db, { runId: null, modelHash: runner.checkpoint.contentHash, setId: set.id, mask, result: { ...result, model: runner.identity } });
        const stored = storedEvaluation(getEvaluation(db, id)!);
        if (opts.json) console.log(JSON.stringify(stored, null, 2));
        else console.log(formatEvaluation(stored, { allChanged: opts.changed }));
      });
    });
}

interface RemoteRunFlags {
  remote?: string;
  backend?: 'sglang' | 'vllm';
  modelId?: string;
  apiKey?: string;
  config?: string;
  concurrency: number;
}

/** `probe run --remote`: the run goes through an inference server; flags that need a local model are refused. */
async function runRemoteCommand(opts: RemoteRunFlags & { model?: string; set: string; db?: string; generate: number; mask?: string; recordLogits?: boolean; resume?: number; new?: boolean }, set: ProbeSet): Promise<void> {
  const missing = (['backend', 'modelId', 'config'] as const).filter((k) => opts[k] === undefined).map((k) => `--${k === 'modelId' ? 'model-id' : k}`);
  if (missing.length) throw new InvalidArgumentError(`--remote needs ${missing.join(', ')} (neither server reports the layer, expert and top-k counts: give the model's config.json with --config)`);
  for (const [flag, given] of [['--model', opts.model], ['--mask', opts.mask], ['--record-logits', opts.recordLogits]] as const) {
    if (given !== undefined) throw new InvalidArgumentError(`${flag} cannot be used with --remote: the server runs its own model, unsteered, and returns expert ids only`);
  }
  let url: URL;
  try {
    url = new URL(opts.remote!);
  } catch {
    throw new InvalidArgumentError(`--remote ${JSON.stringify(opts.remote)} is not a URL (e.g. http://host:30000)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`--remote must be an http or https URL, got ${url.protocol}`);
  const model = remoteModelInfo({ url: url.toString().replace(/\/+$/, ''), backend: opts.backend!, modelId: opts.modelId! }, opts.config!);
  const db = openDb(opts.db);
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  try {
    const report = progressReporter('probing');
    const result = await runRemoteProbes(db, {
      model, apiKey: opts.apiKey ?? process.env.MOTE_REMOTE_API_KEY, set, setPath: path.resolve(opts.set), generateTokens: opts.generate,
      concurrency: opts.concurrency, resumeRunId: opts.resume, forceNew: opts.new, signal: abort.signal,
      onProgress: (p) => report(p.done, p.total, p.prompt ? `${p.prompt.class}${p.prompt.label ? ` → ${p.prompt.label}` : ''}` : ''),
    });
    const resumed = result.resumedFrom ? ` (resumed after ${result.resumedFrom} recorded prompts)` : '';
    console.log(`run ${result.runId}: ${result.status}, ${result.recorded} prompts recorded through ${model.server.backend} at ${model.server.url}${resumed}`);
    if (result.status === 'cancelled') process.exitCode = 130;
  } finally {
    db.close();
  }
}
