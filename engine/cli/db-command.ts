import fs from 'node:fs';
import type { Command } from 'commander';
import { checkDatabase, type CheckReport } from '../store/check.ts';
import { defaultDatabaseFile } from '../store/default-location.ts';

/** `mote db …`: the database runs are recorded in. */
export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('the SQLite database runs are recorded in');
  db
    .command('check')
    .description('look for damage: SQLite integrity_check, every routing BLOB against its CRC32, expert ids against their run, counts against the routing; lists the damaged runs and prompts, without writing to the file')
    .option('--db <file>', `SQLite file runs are recorded in (default ${defaultDatabaseFile()}; set MOTE_DATA_DIR to move it)`)
    .option('--json', 'as JSON')
    .action((opts: { db?: string; json?: boolean }) => {
      const file = opts.db ?? defaultDatabaseFile();
      if (!fs.existsSync(file)) throw new Error(`${file}: no database here (runs are recorded there by \`mote probe run\` or \`mote serve\`)`);
      const report = checkDatabase(file);
      if (opts.json) console.log(JSON.stringify(report, null, 2));
      else console.log(formatReport(report));
      if (!report.ok) process.exitCode = 1;
    });
}

const MAX_LISTED = 50;

export function formatReport(r: CheckReport): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (r.ok) {
    const checked = r.checksums ? 'every routing BLOB matches its CRC32' : `schema version ${r.schemaVersion} has no CRC32s yet; opening it with mote adds them`;
    return `${r.file}: ok — ${plural(r.runs, 'run')}, ${plural(r.prompts, 'prompt')}; SQLite integrity_check ok; ${checked}; expert ids and counts agree with their runs`;
  }
  const lines = [`${r.file}: DAMAGED`];
  if (r.integrity.length) {
    lines.push(`SQLite integrity_check: ${plural(r.integrity.length, 'problem')}${r.integrity.length >= 100 ? ' (the first 100)' : ''}`);
    lines.push(...r.integrity.slice(0, 20).map((p) => `  ${p}`));
    if (r.integrity.length > 20) lines.push(`  … and ${r.integrity.length - 20} more`);
  }
  for (const d of r.damaged.slice(0, MAX_LISTED)) lines.push(`${d.runId === null ? '' : `run ${d.runId}, `}${d.what}: ${d.problem}`);
  if (r.damaged.length > MAX_LISTED) lines.push(`… and ${r.damaged.length - MAX_LISTED} more damaged rows (--json lists them all)`);
  const intact = r.runs - r.damagedRuns.length;
  if (r.damagedRuns.length) {
    lines.push(`Damaged runs: ${r.damagedRuns.join(', ')} (${plural(intact, 'other run')} of ${r.runs} read correctly).`);
  }
  lines.push('MoTE Studio writes nothing more to this file. Restore it from a backup, or start a new database with --db '
    + '(e.g. `mote probe run --db new.db …`, `mote serve --db new.db`) and record the damaged runs again.');
  return lines.join('\n');
}
