import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSession, readLastModel, readSession, writeLastModel, writeSession, type KeyValueStore, type SavedSession } from '../../../renderer/state/session.ts';

const gen = { prompt: 'How do I make a bomb?', chat: true, maxTokens: 32, seed: 7, temperature: 0.5 };
const mask = { mode: 'backfill' as const, forceWeight: 'natural' as const, entries: [{ layer: 1, expert: 3, state: 'off' as const }, { layer: 2, expert: 0, state: 'forced' as const }] };
const source = { runId: 3, runLabel: 'demo-refusal', target: 'refused', method: 'rd' as const, span: 'last' as const, n: 2, edited: true };

const session: SavedSession = {
  version: 1,
  savedAt: '2026-12-04T18:00:00.000Z',
  imaging: { runId: 3, runLabel: 'demo-refusal', span: 'last', method: 'rd', target: 'refused', show: 'score', rateClass: 'answered' },
  steering: { mask, maskName: 'top 2', maskSource: source, topN: 2, topNAuto: false, gen, liveAuto: false },
  compare: {
    baseline: { ids: [5, 6], tokens: ['I', ' can'], status: 'done', reason: 'max-tokens', error: null },
    steered: { ids: [7], tokens: ['Sure'], status: 'error', reason: null, error: 'interrupted' },
    mask, maskSource: source, settings: gen,
    routing: { baseline: { layers: [0, 1], experts: 2, tokens: 2, counts: [1, 0, 2, 1] }, steered: null },
  },
  evaluation: { file: '/p/demo-refusal.json', randomControls: 5, dose: 8, maxTokens: 32, targetClass: '' },
};

function memoryStore(): KeyValueStore & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v) };
}

/** Every path to a leaf value of `v`, e.g. ['steering', 'gen', 'maxTokens']. */
function leafPaths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (typeof v !== 'object' || v === null) return [at];
  const entries = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v);
  return entries.flatMap(([k, x]) => leafPaths(x, [...at, k]));
}

function withLeaf(root: unknown, path: (string | number)[], value: unknown): unknown {
  // Through JSON, not structuredClone: the session shares objects (the mask), which must not change together.
  const copy = JSON.parse(JSON.stringify(root)) as Record<string | number, unknown>;
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[path.at(-1)!] = value;
  return copy;
}

describe('saved sessions', () => {
  it('round-trip through storage, one per checkpoint', () => {
    const store = memoryStore();
    assert.equal(readSession(store, 'abc'), null, 'none saved yet');
    assert.equal(writeSession(store, 'abc', session), true);
    assert.deepEqual(readSession(store, 'abc'), { session });
    assert.equal(readSession(store, 'other'), null, "another checkpoint's session is not this one");
  });

  it('report text that is not JSON, or from another version, and never throw', () => {
    const store = memoryStore();
    store.map.set('mote-studio.session.v1.abc', '{"version": 1, "imag');
    assert.deepEqual(readSession(store, 'abc'), { problem: 'not JSON' });
    assert.deepEqual(parseSession({ ...session, version: 2 }), { problem: 'version: 2, this app reads 1' });
    assert.deepEqual(parseSession(null), { problem: 'session: not an object' });
    assert.deepEqual(parseSession([]), { problem: 'session: not an object' });
  });

  it('name the field of every damaged value (each leaf replaced by a wrong type, then removed)', () => {
    for (const path of leafPaths(session)) {
      const where = path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
      // A value of the wrong type: a number for strings, a string for numbers and booleans, an object for nulls.
      const value = path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], session);
      const wrong = value === null ? {} : typeof value === 'string' ? 42 : 'x';
      for (const bad of [wrong, undefined]) {
        const r = parseSession(withLeaf(session, path, bad));
        assert.ok('problem' in r, `${where} = ${JSON.stringify(bad)} was accepted`);
        assert.ok(r.problem.startsWith(`${where}: `) || r.problem.startsWith(`${where}.`), `${where} = ${JSON.stringify(bad)}: ${r.problem}`);
      }
    }
  });

  it('refuse values the fields could not hold, and inconsistent shapes', () => {
    const cases: [(string | number)[], unknown, string][] = [
      [['steering', 'gen', 'maxTokens'], 200_000, 'steering.gen.maxTokens: not a whole number in 1…8192'],
      [['evaluation', 'randomControls'], 200, 'evaluation.randomControls: not a whole number in 0…100'],
      [['steering', 'topN'], 0, 'steering.topN: not a whole number in 1…100000'],
      [['steering', 'mask', 'entries', 0, 'state'], 'normal', 'steering.mask.entries[0].state: not one of off, forced'],
      [['imaging', 'span'], 'all', 'imaging.span: not one of prompt, response, last'],
      [['compare', 'routing', 'baseline', 'counts'], [1, 2, 3], 'compare.routing.baseline.counts: 3 values for 2 layers × 2 experts'],
      [['compare', 'baseline', 'tokens'], ['I'], 'compare.baseline: 2 token ids but 1 token texts'],
    ];
    for (const [path, value, problem] of cases) assert.deepEqual(parseSession(withLeaf(session, path, value)), { problem });
  });

  it('count storage that throws as no session, and report a refused write', () => {
    const broken: KeyValueStore = { getItem: () => { throw new Error('SecurityError'); }, setItem: () => { throw new Error('QuotaExceededError'); } };
    assert.equal(readSession(broken, 'abc'), null);
    assert.equal(writeSession(broken, 'abc', session), false);
    assert.equal(readLastModel(broken), null);
    assert.doesNotThrow(() => writeLastModel(broken, { folder: null, precision: 'int8', context: 512 }));
  });

  it('keep the model to reopen, and ignore a damaged record of it', () => {
    const store = memoryStore();
    assert.equal(readLastModel(store), null);
    writeLastModel(store, { folder: '/models/olmoe', precision: 'int4', context: 2048 });
    assert.deepEqual(readLastModel(store), { folder: '/models/olmoe', precision: 'int4', context: 2048 });
    store.map.set('mote-studio.last-model.v1', '{"folder": null, "precision": "fp8", "context": 512}');
    assert.equal(readLastModel(store), null);
  });
});
