import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { rankExperts } from '../../engine/analysis/rank.ts';
import { loadTokenizer } from '../../engine/model/tokenizer.ts';
import { loadProbeSet } from '../../engine/probes/load-probe-set.ts';
import { runProbes } from '../../engine/probes/run-probes.ts';
import { remoteModelInfo } from '../../engine/remote/remote-model.ts';
import { runRemoteProbes } from '../../engine/remote/run-remote-probes.ts';
import { openDatabase, type WritableDB } from '../../engine/store/database.ts';
import { getCounts, getPromptRouting, getPrompts, getRun } from '../../engine/store/runs.ts';
import { SPANS } from '../../engine/store/span-counts.ts';
import { openRunner } from '../helpers/engine-run.ts';
import { startContractServer, type ContractServer, type ContractServerOptions } from './contract-server.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DEMO = path.join(ROOT, 'models/demo');
const CONFIG = path.join(DEMO, 'config.json');
const SET_FILE = path.join(ROOT, 'probes/demo-refusal.json');
const SET = loadProbeSet(SET_FILE);
const MODEL_ID = 'mote/demo-qwen3-moe';
const GENERATE = 8;
const FAST_RETRY = { attempts: 4, initialDelayMs: 5, maxDelayMs: 20 };
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-remote-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

let dbCount = 0;
const newDb = () => openDatabase(path.join(work, `run-${dbCount++}.db`));

/** Everything a run's analysis reads: per-span counts and both rankings of every span. */
function analysis(db: WritableDB, runId: number) {
  return {
    counts: SPANS.map((span) => getCounts(db, runId, span)),
    rankings: (['prompt', 'last'] as const).flatMap((span) => (['mote', 'rd'] as const).map((method) => {
      const { runId: _id, ...ranking } = rankExperts(db, runId, 'refused', method, span);
      return ranking;
    })),
  };
}

function routingOf(db: WritableDB, runId: number) {
  return getPrompts(db, runId).map((p) => {
    const r = getPromptRouting(db, runId, p.idx)!;
    return { idx: p.idx, label: p.label, outputText: p.outputText, promptTokens: r.promptTokens, tokenIds: Array.from(r.tokenIds), selected: Array.from(r.selected), tokens: r.tokens };
  });
}

async function withServer<T>(opts: Omit<ContractServerOptions, 'modelDir' | 'modelId'>, job: (server: ContractServer) => Promise<T>): Promise<T> {
  const server = await startContractServer({ modelDir: DEMO, modelId: MODEL_ID, ...opts });
  try {
    return await job(server);
  } finally {
    await server.close();
  }
}

function remoteRun(db: WritableDB, server: ContractServer, backend: 'sglang' | 'vllm', extra: Partial<Parameters<typeof runRemoteProbes>[1]> = {}) {
  return runRemoteProbes(db, {
    model: remoteModelInfo({ url: server.url, backend, modelId: MODEL_ID }, CONFIG),
    set: SET, setPath: SET_FILE, generateTokens: 0, concurrency: 3, retry: FAST_RETRY, ...extra,
  });
}

describe('remote recording through the SGLang and vLLM contract servers', () => {
  const local = { prefill: { db: newDb(), runId: 0 }, generated: { db: newDb(), runId: 0 } };

  before(async () => {
    const runner = await openRunner(DEMO);
    const tokenizer = await loadTokenizer(DEMO, runner.checkpoint.config);
    try {
      local.prefill.runId = (await runProbes(local.prefill.db, runner, tokenizer, { set: SET, setPath: SET_FILE, generateTokens: 0 })).runId;
      local.generated.runId = (await runProbes(local.generated.db, runner, tokenizer, { set: SET, setPath: SET_FILE, generateTokens: GENERATE })).runId;
    } finally {
      await runner.dispose();
    }
  });

  for (const backend of ['sglang', 'vllm'] as const) {
    it(`${backend}: counts, rankings, tokens and routing equal a local run of the same set`, async () => {
      const db = newDb();
      let url = '';
      const result = await withServer({ backend, jitterMs: 30 }, async (server) => {
        url = server.url;
        const r = await remoteRun(db, server, backend);
        assert.ok(server.maxInFlight > 1, 'requests overlap');
        return r;
      });
      assert.equal(result.status, 'finished');
      assert.equal(result.recorded, 65);
      assert.deepEqual(analysis(db, result.runId), analysis(local.prefill.db, local.prefill.runId));
      assert.deepEqual(routingOf(db, result.runId), routingOf(local.prefill.db, local.prefill.runId));
      const run = getRun(db, result.runId)!;
      assert.deepEqual(run.model.remote, { url, backend, modelId: MODEL_ID });
      assert.match(run.modelHash, /^remote-/);
      assert.ok(Number.isNaN(getPromptRouting(db, result.runId, 0)!.weights[0]), 'servers send no mixing weights: stored as NaN');
    });
  }

  it('generation: tokens and labels equal a local run; routing too, but for the last token of a run cut at the token limit', async () => {
    const db = newDb();
    const result = await withServer({ backend: 'vllm' }, (server) => remoteRun(db, server, 'vllm', { generateTokens: GENERATE }));
    const remote = routingOf(db, result.runId);
    const reference = routingOf(local.generated.db, local.generated.runId);
    let endedOnEos = 0;
    remote.forEach((p, i) => {
      const l = reference[i];
      assert.deepEqual([p.idx, p.label, p.outputText, p.promptTokens, p.tokenIds], [l.idx, l.label, l.outputText, l.promptTokens, l.tokenIds]);
      const cutAtLimit = p.tokenIds.length - p.promptTokens === GENERATE;
      assert.equal(p.tokens, cutAtLimit ? l.tokens - 1 : l.tokens, `prompt ${p.idx}: routed tokens`);
      assert.deepEqual(p.selected, l.selected.slice(0, p.selected.length));
      if (!cutAtLimit) endedOnEos++;
    });
    assert.ok(endedOnEos > 0 && endedOnEos < remote.length, `both endings occur (${endedOnEos} of ${remote.length} on EOS)`);
    const promptSpans = (db2: WritableDB, id: number) => [getCounts(db2, id, 'prompt'), getCounts(db2, id, 'last')];
    assert.deepEqual(promptSpans(db, result.runId), promptSpans(local.generated.db, local.generated.runId));
  });

  it('prefix-cache hits keep their routing; a server that omits the cached prefix is refused with the reason', async () => {
    await withServer({ backend: 'sglang' }, async (server) => {
      const db = newDb();
      const first = await remoteRun(db, server, 'sglang');
      const second = await remoteRun(db, server, 'sglang', { forceNew: true });
      assert.notEqual(first.runId, second.runId);
      assert.deepEqual(analysis(db, second.runId), analysis(db, first.runId));
    });
    await withServer({ backend: 'vllm', omitCachedPrefix: true }, async (server) => {
      const db = newDb();
      await remoteRun(db, server, 'vllm');
      await assert.rejects(remoteRun(db, server, 'vllm', { forceNew: true, concurrency: 1 }),
        /prompt 0: routing for 0 tokens, expected \d+ .*left out its \d+ prefix-cached prompt tokens.*enable-omit-prefix-routed-experts/);
    });
  });

  it('retries 5xx answers and dropped connections with backoff, and fails at once on 4xx naming URL, status and message', async () => {
    await withServer({ backend: 'vllm', faults: [{ status: 500, message: 'boom' }, 'drop', { status: 503, message: 'busy' }] }, async (server) => {
      const db = newDb();
      const result = await remoteRun(db, server, 'vllm', { concurrency: 1 });
      assert.equal(result.status, 'finished');
      assert.equal(server.requests, 65 + 3);
      assert.deepEqual(analysis(db, result.runId), analysis(local.prefill.db, local.prefill.runId));
    });
    await withServer({ backend: 'sglang', faults: [{ status: 400, message: 'max_tokens must be positive' }] }, async (server) => {
      const db = newDb();
      await assert.rejects(remoteRun(db, server, 'sglang', { concurrency: 1 }),
        (err: Error) => err.message === `${server.url}/v1/chat/completions: HTTP 400: max_tokens must be positive`);
      assert.equal(server.requests, 1, 'a 4xx is not retried');
      const run = getRun(db, 1)!;
      assert.equal(run.status, 'failed');
      assert.match(run.error!, /HTTP 400/);
    });
    await withServer({ backend: 'vllm', faults: [{ status: 502, message: 'bad gateway' }, { status: 502, message: 'bad gateway' }, { status: 502, message: 'bad gateway' }, { status: 502, message: 'bad gateway' }] }, async (server) => {
      await assert.rejects(remoteRun(newDb(), server, 'vllm', { concurrency: 1 }), /HTTP 502: bad gateway \(gave up after 4 attempts\)/);
    });
  });

  it('malformed payloads and servers without routing are refused with a clear error', async () => {
    for (const backend of ['sglang', 'vllm'] as const) {
      await withServer({ backend, faults: ['malformed'] }, async (server) => {
        await assert.rejects(remoteRun(newDb(), server, backend, { concurrency: 1 }),
          new RegExp(`${server.url}/v1/chat/completions \\(${backend}\\), prompt 0: (routing for \\d+ tokens, expected|sglext.routed_experts holds \\d+ expert ids, not)`));
      });
    }
    await withServer({ backend: 'sglang', routingDisabled: true }, async (server) => {
      await assert.rejects(remoteRun(newDb(), server, 'sglang', { concurrency: 1 }), /no sglext.routed_experts: start the server with --enable-return-routed-experts/);
    });
  });

  it('the CLI records through a server; SIGKILLed mid-run and run again with the same command it ends equal to a local run', async () => {
    const dbFile = path.join(work, 'cli.db');
    await withServer({ backend: 'vllm', apiKey: 'sesame' }, async (server) => {
      const args = [path.join(ROOT, 'bin/mote.js'), 'probe', 'run', '--remote', server.url, '--backend', 'vllm', '--model-id', MODEL_ID,
        '--config', CONFIG, '--set', SET_FILE, '--db', dbFile, '--concurrency', '2'];
      const env = { ...process.env, MOTE_REMOTE_API_KEY: 'sesame' };
      const killedAt = await new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, args, { env, stdio: 'ignore' });
        const timer = setInterval(() => {
          if (server.requests >= 20) {
            clearInterval(timer);
            child.kill('SIGKILL');
          }
        }, 5);
        child.on('error', reject);
        child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve(server.requests) : reject(new Error(`the CLI ended before it was killed (${signal})`))));
      });
      const db = openDatabase(dbFile);
      const partial = getPrompts(db, 1).length;
      db.close();
      assert.ok(partial > 0 && partial < 65, `killed mid-run after ${partial} prompts (${killedAt} requests)`);
      // Not spawnSync: the server answers from this process's event loop.
      const second = await runToEnd(process.execPath, args, env);
      assert.equal(second.status, 0, second.stderr);
      assert.match(second.stdout, new RegExp(`run 1: finished, ${65 - partial} prompts recorded through vllm at .* \\(resumed after ${partial} recorded prompts\\)`));
    });
    const db = openDatabase(dbFile);
    try {
      assert.deepEqual(analysis(db, 1), analysis(local.prefill.db, local.prefill.runId));
    } finally {
      db.close();
    }
  });

  it('the CLI refuses incomplete remote flags, naming what is missing and why', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/mote.js'), 'probe', 'run', '--remote', 'http://127.0.0.1:9', '--backend', 'sglang', '--model-id', 'x', '--set', SET_FILE],
      { encoding: 'utf8', env: { ...process.env, MOTE_DATA_DIR: work } });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--remote needs --config \(neither server reports the layer, expert and top-k counts/);
  });
});

function runToEnd(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
