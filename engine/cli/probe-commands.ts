import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { evaluateMask, type ConditionResult, type EvaluationResult } from '../analysis/evaluate.ts';
import { rankExperts } from '../analysis/rank.ts';
import type { RankMethod } from '../protocol/types.ts';
import { MAX_RUN_NOTE_CHARS } from '../protocol/methods.ts';
import { expandProbeSet } from '../probes/expand.ts';
import { loadProbeSet } from '../probes/load-probe-set.ts';
import { summarizeProbeSet } from '../probes/probe-set-check.ts';
import type { ProbePrompt, ProbeSet } from '../probes/probe-set.ts';
import { probePromptIds } from '../probes/prompt-tokens.ts';
import { ProbeSetError } from '../probes/problems.ts';
import { openCheckpoint } from '../model/checkpoint.ts';
import { loadTokenizer } from '../model/tokenizer.ts';
import { runContext } from '../runtime/memory-guard.ts';
import { runProbes } from '../probes/run-probes.ts';
import type { TextTokenizer } from '../model/tokenizer.ts';
import type { ModelRunner } from '../runtime/model-runner.ts';
import { openDatabase, type WritableDB } from '../store/database.ts';
import { defaultDatabaseFile } from '../store/default-location.ts';
import { deleteRun, getPrompts, getRun, listRuns, saveEvaluation, setRunNote } from '../store/runs.ts';
import { SPANS, type Span } from '../store/span-counts.ts';
import { maskFile, readMaskFile } from '../steering/mask-file.ts';
import { choiceArg, intArg } from './arguments.ts';
import { fitMask, modelOptions, openModel, type ModelOpenOptions } from './open-model.ts';
import { progressReporter } from './progress.ts';

const dbOption = ['--db <file>', `SQLite file runs are recorded in (default ${defaultDatabaseFile()}; set MOTE_DATA_DIR to move it)`] as const;

function openDb(file: string | undefined) {
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

const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`);

export function registerProbeCommands(program: Command): void {
  const probe = program.command('probe').description('fTRI probe runs: record the routing of every prompt of a probe set');
  const probeRun = probe
    .command('run')
    .description('run every prompt of a probe set, classify outputs and record tokens and routing; an interrupted run resumes where it stopped')
    .requiredOption('--model <dir>', 'Hugging Face checkpoint folder')
    .requiredOption('--set <file>', 'probe set (.json, .yaml)')
    .option(...dbOption)
    .option('--generate <n>', 'greedy tokens generated per prompt and classified (0 = prompt only)', intArg('--generate'), 0)
    .option('--mask <file>', 'record under this expert mask')
    .option('--record-logits', 'also store the full router logits of every token')
    .option('--resume <id>', 'resume this run', intArg('--resume', 1))
    .option('--new', 'start a new run even if an unfinished identical one exists');
  modelOptions(probeRun)
    .action(async (opts: ModelOpenOptions & { model: string; set: string; db?: string; generate: number; mask?: string; recordLogits?: boolean; resume?: number; new?: boolean }) => {
      const set = loadProbeSet(opts.set);
      const parsedMask = opts.mask === undefined ? undefined : readMaskFile(opts.mask);
      await withModelJob(opts, async ({ db, runner, tokenizer, signal }) => {
        const mask = opts.mask && parsedMask ? fitMask(runner, opts.mask, parsedMask) : undefined;
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
      for (const r of all) console.log([r.id, r.status, `${r.recorded}/${r.promptCount}`, r.setId, `${r.model.architecture} ${r.model.precision} ${r.modelHash.slice(0, 8)}`, r.createdAt, r.note.replace(/\s+/g, ' ')].join('\t'));
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
      console.log(`model   ${run.modelDir} (${run.model.architecture}, ${run.model.precision}, ${run.modelHash})`);
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
    .option('--mask-out <file>', 'write the top experts as an "off" mask, in rank order')
    .option(...dbOption)
    .option('--json', 'as JSON')
    .action((opts: { run: number; target: string; method: RankMethod; span: Span; top: number; maskOut?: string; db?: string; json?: boolean }) => {
      const db = openDb(opts.db);
      const run = getRun(db, opts.run);
      const ranking = rankExperts(db, opts.run, opts.target, opts.method, opts.span);
      db.close();
      const top = ranking.scores.slice(0, opts.top);
      if (opts.maskOut && run) {
        const entries = top.map((s) => ({ layer: s.layer, expert: s.expert, state: 'off' as const }));
        const file = maskFile({ mode: 'backfill', forceWeight: 'natural', entries }, run.model, `top ${opts.top} ${opts.method} experts for ${opts.target} (run ${run.id})`);
        fs.writeFileSync(opts.maskOut, JSON.stringify(file, null, 2) + '\n');
      }
      if (opts.json) return console.log(JSON.stringify({ ...ranking, scores: top }, null, 2));
      console.log(`run ${opts.run}, target ${opts.target} (${ranking.targetPrompts} prompts) vs others (${ranking.otherPrompts}), ${opts.method}, span ${opts.span}`);
      console.log(['rank', 'layer', 'expert', 'score', 'rate target', 'rate other', 'p', 'q (BH)'].join('\t'));
      top.forEach((s, i) => console.log([i + 1, s.layer, s.expert, s.score.toFixed(4), s.rateTarget.toFixed(3), s.rateOther.toFixed(3), s.p.toExponential(2), s.q.toExponential(2)].join('\t')));
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
    .option(...dbOption)
    .option('--json', 'as JSON');
  modelOptions(evalCommand)
    .action(async (opts: ModelOpenOptions & { model: string; set: string; mask: string; randomControl: number; dose: number; behaviour?: string; target?: string; maxTokens: number; db?: string; json?: boolean }) => {
      const set = loadProbeSet(opts.set);
      const parsedMask = readMaskFile(opts.mask);
      await withModelJob(opts, async ({ db, runner, tokenizer, signal }) => {
        const mask = fitMask(runner, opts.mask, parsedMask);
        const report = progressReporter('evaluating');
        const result = await evaluateMask(runner, tokenizer, {
          set, setPath: path.resolve(opts.set), mask, behaviour: opts.behaviour, targetClass: opts.target, randomControls: opts.randomControl, dose: opts.dose,
          maxTokens: opts.maxTokens, signal, onProgress: (done, total, name) => report(done, total, name),
        });
        const id = saveEvaluation(db, { runId: null, modelHash: runner.checkpoint.contentHash, setId: set.id, mask, result: { ...result, model: runner.identity } });
        if (opts.json) console.log(JSON.stringify({ evaluation: id, ...result }, null, 2));
        else console.log(formatEvaluation(result, id));
      });
    });
}

export function formatEvaluation(r: EvaluationResult, id: number): string {
  const row = (c: ConditionResult) => [c.name.padEnd(18), String(c.entries).padStart(7), pct(c.behaviourRate).padStart(10), pct(c.benignAccuracy).padStart(10), pct(c.benignBehaviourRate).padStart(12)].join('  ');
  const lines = [
    `evaluation ${id}: set ${r.setId}; behaviour "${r.behaviour}" on class ${r.targetClass} (${r.targetPrompts} prompts), ${r.benignPrompts} benign prompts`,
    ['condition'.padEnd(18), 'experts'.padStart(7), 'behaviour'.padStart(10), 'accuracy'.padStart(10), 'benign beh.'.padStart(12)].join('  '),
    row(r.baseline),
    row(r.masked),
    ...r.randomControls.map(row),
  ];
  if (r.randomSummary) {
    const s = r.randomSummary;
    lines.push(`random masks: behaviour ${pct(s.behaviourMean)} ± ${pct(s.behaviourSd)}, accuracy ${pct(s.accuracyMean)} ± ${pct(s.accuracySd)}`);
  }
  const base = r.baseline.behaviourRate ?? 0;
  if (base > 0) {
    const cut = (v: number | null) => (v === null ? '—' : `${(((base - v) / base) * 100).toFixed(0)} %`);
    lines.push(`relative cut in behaviour: mask ${cut(r.masked.behaviourRate)}, random ${cut(r.randomSummary?.behaviourMean ?? null)}`);
  }
  if (r.dose.length) lines.push('dose-response:', ...r.dose.map(row));
  if (r.forced) lines.push(`forcing the mask's experts on benign prompts: behaviour ${pct(r.baseline.benignBehaviourRate)} → ${pct(r.forced.benignBehaviourRate)}`);
  return lines.join('\n');
}
