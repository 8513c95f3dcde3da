import fs from 'node:fs';
import type { Command } from 'commander';
import { evaluationPromptsCsv, evaluationRatesCsv, evaluationSummary, storedEvaluation } from '../analysis/evaluation-record.ts';
import { defaultDatabaseFile } from '../store/default-location.ts';
import { getEvaluation, listEvaluations } from '../store/runs.ts';
import { choiceArg, intArg } from './arguments.ts';
import { formatEvaluation, pct } from './evaluation-format.ts';
import { dbOption, openDb } from './probe-commands.ts';

/** `mote evals list|show`: evaluations kept in the database, as text, JSON or CSV. */
export function registerEvaluationCommands(program: Command): void {
  const evals = program.command('evals').description('stored evaluations (made by `mote eval` or the app)');
  evals
    .command('list')
    .description('every evaluation in the database, newest first')
    .option(...dbOption)
    .option('--json', 'as JSON')
    .action((opts: { db?: string; json?: boolean }) => {
      const db = openDb(opts.db);
      const all = listEvaluations(db).map((e) => evaluationSummary(storedEvaluation(e)));
      db.close();
      if (opts.json) return console.log(JSON.stringify(all, null, 2));
      if (!all.length) return console.log('no evaluations yet: make one with `mote eval --model DIR --set FILE --mask FILE`');
      console.log(['id', 'set', 'behaviour', 'experts', 'baseline', 'mask', 'random p (K)', 'precision', 'created'].join('\t'));
      for (const e of all) {
        console.log([e.evaluationId, e.setId, `${e.behaviour} on ${e.targetClass}`, e.entries, pct(e.baselineRate), pct(e.maskedRate),
          e.randomP === null ? `— (${e.randomControls})` : `${e.randomP.toFixed(3)} (${e.randomControls})`, e.precision ?? '—', e.createdAt].join('\t'));
      }
    });
  evals
    .command('show')
    .argument('<id>', 'evaluation id (see `mote evals list`)', intArg('<id>', 1))
    .description("an evaluation's rates with 95 % intervals, random-mask test, dose-response, forcing and changed prompts")
    .option(...dbOption)
    .option('--changed', 'list every prompt whose outcome the mask changed (default: the first 5)')
    .option('--csv <table>', 'print CSV instead: rates (with intervals and the random-mask test) or prompts (per-prompt outcomes)', choiceArg('--csv', ['rates', 'prompts'] as const))
    .option('--out <file>', 'write the CSV or JSON to this file instead of printing it')
    .option('--json', 'as JSON')
    .action((evaluationId: number, opts: { db?: string; changed?: boolean; csv?: 'rates' | 'prompts'; out?: string; json?: boolean }) => {
      const db = openDb(opts.db);
      const stored = getEvaluation(db, evaluationId);
      db.close();
      if (!stored) throw new Error(`evaluation ${evaluationId} does not exist in ${opts.db ?? defaultDatabaseFile()}`);
      const e = storedEvaluation(stored);
      const text = opts.csv === 'rates' ? evaluationRatesCsv(e)
        : opts.csv === 'prompts' ? evaluationPromptsCsv(e)
          : opts.json ? JSON.stringify(e, null, 2) + '\n'
            : formatEvaluation(e, { allChanged: opts.changed }) + '\n';
      if (opts.out) {
        fs.writeFileSync(opts.out, text);
        console.error(`wrote ${opts.out}`);
      } else process.stdout.write(text);
    });
}
