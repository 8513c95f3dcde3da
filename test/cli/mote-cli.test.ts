import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { testCacheDir } from '../helpers/engine-run.ts';
import { sharedFolder } from '../helpers/golden.ts';
import { damage, damageFixture, offsetOf, pageOf, sha } from '../store/damage-helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const GOLDEN = sharedFolder('golden', 'qwen2_moe-f32');
const expected = JSON.parse(fs.readFileSync(path.join(GOLDEN, 'expected.json'), 'utf8'));

function mote(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/mote.js'), ...args], {
    encoding: 'utf8', env: { ...process.env, MOTE_CACHE_DIR: testCacheDir }, timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function writeMask(entries: unknown, model: Record<string, unknown> = {}, mode = 'backfill'): string {
  const inspect = JSON.parse(mote('inspect', '--model', GOLDEN, '--json').stdout);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mote-mask-')), 'mask.json');
  fs.writeFileSync(file, JSON.stringify({
    format: 'mote-mask', version: 1,
    model: { architecture: 'qwen2_moe', layers: 3, experts: 8, topK: 2, checkpoint: inspect.checkpoint, ...model },
    mode, forceWeight: 'natural', entries,
  }));
  return file;
}

describe('mote CLI', () => {
  it('--help tells the commands and their options', () => {
    const top = mote('--help');
    assert.equal(top.code, 0);
    assert.match(top.stdout, /inspect/);
    assert.match(top.stdout, /generate/);
    const gen = mote('generate', '--help');
    for (const flag of ['--model', '--prompt', '--chat', '--mask', '--max-tokens', '--seed', '--temperature', '--top-k', '--top-p', '--stop', '--json']) {
      assert.ok(gen.stdout.includes(flag), `generate --help mentions ${flag}`);
    }
  });

  it('inspect summarises architecture, layers, experts, k, shared experts, parameters and memory', () => {
    const text = mote('inspect', '--model', GOLDEN);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /qwen2_moe \(Qwen2-MoE\)/);
    assert.match(text.stdout, /3 \(2 MoE: 0, 2\)/);
    assert.match(text.stdout, /8 per MoE layer, k = 2, plus 1 shared expert/);
    const json = JSON.parse(mote('inspect', '--model', GOLDEN, '--json').stdout);
    assert.equal(json.experts, 8);
    assert.deepEqual(json.moeLayers, [0, 2]);
    assert.ok(json.parameters > 40_000 && json.memoryBytes === json.parameters * 4);
  });

  it('generate --json writes a line per prompt and generated token with its routing', () => {
    const r = mote('generate', '--model', GOLDEN, '--prompt', expected.prompt_text, '--max-tokens', '8', '--json');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const promptLines = lines.filter((l) => l.type === 'prompt-token');
    const tokenLines = lines.filter((l) => l.type === 'token');
    assert.deepEqual(promptLines.map((l) => l.id), expected.prompt_ids);
    assert.deepEqual(tokenLines.map((l) => l.id), expected.generated_ids);
    assert.deepEqual(promptLines[0].routing.map((r: { layer: number }) => r.layer), [0, 2]);
    assert.deepEqual(promptLines[0].routing[0].experts, expected.routing_full_sequence[0].selected[0]);
    assert.equal(lines.at(-1).type, 'done');
    assert.equal(lines.at(-1).reason, 'max-tokens');
  });

  it('generate --mask steers: the golden backfill run', () => {
    const steered = expected.steered.find((s: { mode: string }) => s.mode === 'backfill');
    const r = mote('generate', '--model', GOLDEN, '--prompt', expected.prompt_text, '--max-tokens', '8', '--json', '--mask', writeMask(steered.mask));
    assert.equal(r.code, 0, r.stderr);
    const ids = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'token').map((l) => l.id);
    assert.deepEqual(ids, steered.generated_ids);
  });

  it('a mask for another shape is refused, naming the file and what does not fit', () => {
    const file = writeMask([], { experts: 64 });
    const r = mote('generate', '--model', GOLDEN, '--prompt', 't5', '--mask', file);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(file), r.stderr);
    assert.match(r.stderr, /made for 64 experts per layer, the model has 8/);
    const forcing = writeMask([0, 1, 2].map((expert) => ({ layer: 2, expert, state: 'forced' })));
    const r2 = mote('generate', '--model', GOLDEN, '--prompt', 't5', '--mask', forcing);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /layer 2: 3 experts forced, but only 2 are selected per token/);
  });

  it('a malformed mask file and a missing model folder are clear errors', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mote-mask-')), 'bad.json');
    fs.writeFileSync(file, '{"format": "mote-mask", "version": 1, "entries": [{"layer": "x"}]}');
    const r = mote('generate', '--model', GOLDEN, '--prompt', 't5', '--mask', file);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.json: .*model: missing.*entries\[0\]\.layer: expected a non-negative integer/);
    // Read before the model is opened: a bad mask fails at once, not after a graph build.
    const set = path.join(ROOT, 'probes/demo-refusal.json');
    for (const command of [['generate', '--prompt', 't5'], ['probe', 'run', '--set', set], ['eval', '--set', set]]) {
      const early = mote(...command, '--model', '/nonexistent/model', '--mask', file);
      assert.equal(early.code, 1, command.join(' '));
      assert.match(early.stderr, /^mote: .*bad\.json: /, command.join(' '));
    }
    const missing = mote('inspect', '--model', '/nonexistent/model');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /mote: \/nonexistent\/model does not exist/);
  });

  it('bad option values are refused with the option named', () => {
    const r = mote('generate', '--model', GOLDEN, '--prompt', 't5', '--max-tokens', 'many');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--max-tokens must be an integer/);
  });
});

describe('mote db check, and commands on a damaged database (issue 11, case 5)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-cli-db-'));
  let n = 0;
  const fixture = () => damageFixture(path.join(dir, `runs-${n++}.db`));

  it('db check says ok for a sound database, and lists the damaged run and prompt of a damaged BLOB (exit 1)', () => {
    const { file, runId } = fixture();
    const ok = mote('db', 'check', '--db', file);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /: ok — 1 run, 200 prompts; SQLite integrity_check ok; every routing BLOB matches its CRC32/);
    const raw = new Database(file, { readonly: true });
    const selected = raw.prepare('SELECT selected FROM prompts WHERE run_id = ? AND idx = 50').pluck().get(runId) as Buffer;
    raw.close();
    damage(file, offsetOf(file, selected) + 8, 64);
    const before = sha(file);
    const r = mote('db', 'check', '--db', file);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`${file}: DAMAGED\\nrun ${runId}, prompt 50: BLOB selected fails its CRC32 check`));
    assert.match(r.stdout, /Restore it from a backup, or start a new database with --db/);
    const json = JSON.parse(mote('db', 'check', '--db', file, '--json').stdout);
    assert.deepEqual(json.damagedRuns, [runId]);
    assert.equal(sha(file), before, 'the check writes nothing');
    assert.match(mote('db', 'check', '--db', path.join(dir, 'none.db')).stderr, /none\.db: no database here/);
  });

  it('rank on a database whose counts are damaged exits 1, naming the file and what to do', () => {
    const { file, runId } = fixture();
    const sound = mote('rank', '--run', String(runId), '--target', 'harmful', '--db', file);
    assert.equal(sound.code, 0, sound.stderr);
    damage(file, pageOf(file, 'span_counts', 'leaf'), 4096);
    const r = mote('rank', '--run', String(runId), '--target', 'harmful', '--db', file);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.startsWith(`mote: ${file}: the database is damaged (`), r.stderr);
    assert.ok(r.stderr.includes(`mote db check --db ${file}`), r.stderr);
  });

  it('probe run on a database with a damaged page stops before writing anything', () => {
    const { file } = fixture();
    damage(file, pageOf(file, 'prompts', 'leaf') + 100, 512);
    const before = sha(file);
    const r = mote('probe', 'run', '--model', GOLDEN, '--set', path.join(ROOT, 'probes/demo-refusal.json'), '--db', file);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`^mote: ${file}: the database is damaged \\(PRAGMA quick_check`, 'm'));
    assert.match(r.stderr, /restore it from a backup, or start a new database with --db/);
    assert.doesNotMatch(r.stdout, /prompts recorded/);
    assert.equal(sha(file), before, 'nothing was written');
  });
});

describe('mote CLI: version and --db', () => {
  it('--version prints the version in package.json', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const r = mote(flag);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), version);
    }
  });

  it('probe run, runs, rank and eval use the --db file, never the default database', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-data-'));
    const db = path.join(dataDir, 'elsewhere', 'runs.db');
    const other = path.join(dataDir, 'other.db');
    const run = (...args: string[]) => {
      const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/mote.js'), ...args], {
        encoding: 'utf8', env: { ...process.env, MOTE_CACHE_DIR: testCacheDir, MOTE_DATA_DIR: dataDir }, timeout: 300_000,
      });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const demo = path.join(ROOT, 'models/demo');
    const probed = run('probe', 'run', '--model', demo, '--set', path.join(ROOT, 'probes/demo-refusal.json'), '--db', db);
    assert.equal(probed.code, 0, probed.stderr);
    assert.match(probed.stdout, /^run 1: finished, 65 prompts recorded$/m);

    assert.match(run('runs', 'list', '--db', db).stdout, /^1\tfinished\t65\/65\tdemo-refusal\t/m);
    assert.match(run('runs', 'show', '1', '--db', db).stdout, /refused: 25 prompts/);
    assert.match(run('runs', 'list', '--db', other).stdout, /^no runs yet/);
    const missing = run('rank', '--run', '1', '--target', 'refused', '--db', other);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /run 1 does not exist/);

    const mask = path.join(dataDir, 'mask.json');
    const ranked = run('rank', '--run', '1', '--target', 'refused', '--top', '8', '--mask-out', mask, '--db', db, '--json');
    assert.equal(ranked.code, 0, ranked.stderr);
    const top = (JSON.parse(ranked.stdout).scores as { layer: number; expert: number }[]).map((e) => `${e.layer}:${e.expert}`);
    assert.equal(top.length, 8);
    const steermoe = path.join(dataDir, 'mask.steermoe.json');
    assert.equal(run('rank', '--run', '1', '--target', 'refused', '--top', '8', '--mask-out', steermoe, '--mask-format', 'steermoe', '--db', db).code, 0);
    const matrix: number[][] = JSON.parse(fs.readFileSync(steermoe, 'utf8')).moe_manual_weights;
    const off = matrix.flatMap((row, layer) => row.flatMap((v, expert) => (v === -1 ? [`${layer}:${expert}`] : [])));
    assert.deepEqual(off.sort(), [...top].sort(), 'the SteerMoE matrix deactivates the ranked experts');
    assert.ok(matrix.flat().every((v) => v === 0 || v === -1));

    const evaluated = run('eval', '--model', demo, '--set', path.join(ROOT, 'probes/demo-heldout.json'), '--mask', mask,
      '--random-control', '1', '--max-tokens', '8', '--db', db, '--json');
    assert.equal(evaluated.code, 0, evaluated.stderr);
    const { evaluationId: evaluation } = JSON.parse(evaluated.stdout);
    const stored = new Database(db, { readonly: true });
    assert.deepEqual(stored.prepare('SELECT id FROM evaluations').all(), [{ id: evaluation }]);
    stored.close();
    assert.deepEqual(fs.readdirSync(dataDir).sort(), ['elsewhere', 'mask.json', 'mask.steermoe.json', 'other.db'], 'no default database was created');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
