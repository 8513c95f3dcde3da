import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { EngineHost, MAX_ERROR_MESSAGE_CHARS, type Emit } from '../../engine/host/engine-host.ts';
import type { EngineMessage } from '../../engine/protocol/messages.ts';
import { methodParams, type Method, type MethodParams } from '../../engine/protocol/methods.ts';
import type { ExpertMask } from '../../engine/protocol/types.ts';

/**
 * Issue 11 item 9, protocol params: every message, whatever its params, gets exactly one reply; params the method's
 * schema refuses always get bad-request naming the method (never a result), and no error message is long. The
 * host has no model and a demo folder that does not exist, so valid requests fail fast too. Bounded: a few seconds.
 */
const RUNS = { params: 1200, messages: 500, texts: 300 };

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-params-fuzz-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
fs.mkdirSync(path.join(work, 'probes'));
const host = new EngineHost({ demoModelDir: path.join(work, 'no-demo'), probesDir: path.join(work, 'probes'), dbFile: path.join(work, 'mote.db'), threads: 1 });
after(() => host.dispose());

const mask: ExpertMask = { mode: 'backfill', forceWeight: 'natural', entries: [{ layer: 0, expert: 1, state: 'off' }] };
/** One valid params object per method, to mutate; typed, so a new method must be added here. */
const SAMPLES: { [M in Method]: MethodParams<M> } = {
  'model.current': {},
  'model.open': { dir: path.join(work, 'no-model'), precision: 'f32', context: 64 },
  'model.estimate': { dir: path.join(work, 'no-model'), context: 64 },
  'probes.list': {},
  'probes.expand': { file: 'x.json' },
  'probes.run': { file: 'x.json', generateTokens: 1, forceNew: true },
  'runs.list': {},
  'runs.get': { runId: 1 },
  'runs.heatmap': { runId: 1, span: 'prompt' },
  'runs.rank': { runId: 1, target: 'a', method: 'mote', span: 'last' },
  'runs.expertPrompts': { runId: 1, layer: 0, expert: 0, span: 'response' },
  'runs.promptRouting': { runId: 1, idx: 0 },
  generate: { prompt: 'hi', chat: false, mask, maxTokens: 1, seed: 0, temperature: 0, topK: 0, topP: 1 },
  evaluate: { file: 'x.json', mask, randomControls: 0, dose: 0, maxTokens: 1 },
  'mask.export': { mask, format: 'mote', name: 'm' },
  'mask.import': { json: '{}', source: 's.json' },
  'rankings.csv': { runId: 1, target: 'a', method: 'rd', span: 'prompt' },
  'bundle.export': { mask, seed: 0, outputs: [{ label: 'l', text: 't' }] },
  'openai.status': {},
  'openai.setEnabled': { enabled: true },
  'openai.saveMask': { name: 'refusal-off', mask },
  'evaluations.list': {},
  'evaluations.get': { evaluationId: 1 },
  'evaluations.csv': { evaluationId: 1, table: 'rates' },
  'probes.runRemote': { file: 'x.json', generateTokens: 0, url: 'http://127.0.0.1:9', backend: 'sglang', modelId: 'm', config: '{}' },
  'probes.check': { file: 'x.json', text: '{}' },
  'probes.source': { file: 'x.json' },
  'runs.delete': { runId: 1 },
  'runs.annotate': { runId: 1, note: 'n' },
};
const METHODS = Object.keys(methodParams) as Method[];

const value = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.constantFrom('', 'x.json', '/dev/zero', '../x.json', -1, 0, 1, 1.5, 2 ** 53, Number.NaN, null, true, [], {}, 'prompt', 'mote', 'off', mask, mask.entries),
);
/** A sample with one key set to something else, one removed, or one added; or anything at all. */
const paramsFor = (method: Method) => {
  const sample = SAMPLES[method] as Record<string, unknown>;
  const keys = Object.keys(sample);
  return fc.oneof(
    fc.constant(sample),
    fc.tuple(fc.constantFrom(...keys, 'extra', 'mask', 'file', 'dir'), value).map(([key, v]) => ({ ...sample, [key]: v })),
    ...(keys.length ? [fc.constantFrom(...keys).map((key) => Object.fromEntries(Object.entries(sample).filter(([k]) => k !== key)))] : []),
    fc.record({ ...Object.fromEntries(keys.map((k) => [k, value])) }, { requiredKeys: [] }),
    value,
  );
};
const request = fc.constantFrom(...METHODS).chain((method) => fc.tuple(fc.constant(method), paramsFor(method)));

let nextId = 1;
/** Sends one message and waits for its reply (one, and no more than one, within a while). */
async function exchange(send: (emit: Emit) => void): Promise<EngineMessage & { ok: boolean }> {
  const replies: EngineMessage[] = [];
  assert.doesNotThrow(() => send((m) => {
    if (!('event' in m)) replies.push(m);
  }));
  const deadline = Date.now() + 10_000;
  while (replies.length === 0) {
    assert.ok(Date.now() < deadline, 'no reply');
    await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(replies.length, 1, JSON.stringify(replies).slice(0, 500));
  return replies[0] as EngineMessage & { ok: boolean };
}

function checkError(reply: EngineMessage): { code: string; message: string } {
  assert.ok(!('event' in reply) && !reply.ok, JSON.stringify(reply).slice(0, 300));
  const { code, message } = (reply as { error: { code: string; message: string } }).error;
  assert.ok(typeof message === 'string' && message.length > 0 && message.length <= MAX_ERROR_MESSAGE_CHARS, `${message?.length} characters`);
  return { code, message };
}

describe('protocol params, fuzzed through the engine host', () => {
  it(`${RUNS.params} requests with mutated or arbitrary params: one reply each; invalid params always bad-request naming the method`, async () => {
    const seen = new Map<string, number>();
    await fc.assert(fc.asyncProperty(request, async ([method, params]) => {
      const id = nextId++;
      const valid = methodParams[method].safeParse(params).success;
      const reply = await exchange((emit) => host.handle({ id, method, params }, emit));
      assert.equal((reply as { id: number }).id, id);
      if (reply.ok) {
        assert.ok(valid, `${method} succeeded with params its schema refuses`);
        seen.set('ok', (seen.get('ok') ?? 0) + 1);
        return;
      }
      const { code, message } = checkError(reply);
      seen.set(code, (seen.get(code) ?? 0) + 1);
      if (!valid) {
        assert.equal(code, 'bad-request', message);
        assert.ok(message.startsWith(`invalid params for ${method}: `), message);
      } else {
        assert.ok(['bad-request', 'not-found', 'no-model', 'failed'].includes(code), `${code}: ${message}`);
      }
    }), { numRuns: RUNS.params });
    assert.ok((seen.get('bad-request') ?? 0) > 0 && (seen.get('ok') ?? 0) > 0, JSON.stringify([...seen]));
  });

  it(`${RUNS.messages} arbitrary messages: bad-request or unknown-method, never a throw`, async () => {
    const message = fc.oneof(
      fc.anything({ maxDepth: 3 }),
      fc.record({ id: value, method: fc.oneof(fc.constantFrom(...METHODS, 'toString', '__proto__', 'constructor', ''), fc.string()), params: value }, { requiredKeys: [] }),
      fc.record({ cancel: value }),
    );
    await fc.assert(fc.asyncProperty(message, async (m) => {
      const replies: EngineMessage[] = [];
      assert.doesNotThrow(() => host.handle(m, (r) => replies.push(r)));
      await new Promise((resolve) => setTimeout(resolve, 0));
      // A valid cancel has no reply; a valid request is answered by its method (checked above).
      for (const reply of replies) if (!('event' in reply) && !reply.ok) checkError(reply);
    }), { numRuns: RUNS.messages });
  });

  it(`${RUNS.texts} arbitrary texts over a text transport: every one answered`, async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.string({ maxLength: 100 }), fc.json({ maxDepth: 2 })), async (text) => {
      const replies: EngineMessage[] = [];
      assert.doesNotThrow(() => host.handleText(text, (r) => replies.push(r)));
      await new Promise((resolve) => setTimeout(resolve, 0));
      for (const reply of replies) if (!('event' in reply) && !reply.ok) checkError(reply);
    }), { numRuns: RUNS.texts });
  });
});
