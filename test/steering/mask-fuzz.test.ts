import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_MASK_ENTRIES } from '../../engine/protocol/methods.ts';
import type { MaskEntry } from '../../engine/protocol/types.ts';
import { importMask } from '../../engine/steering/mask-exchange.ts';
import { parseMaskFile } from '../../engine/steering/mask-file.ts';
import { entryProblems, locate, type MaskTarget } from '../../engine/steering/mask-fit.ts';

/**
 * Issue 11 item 9, the mask parser (both formats, as mask.import and the command line read them): on any input it
 * either returns a mask that fits the model, or throws an Error that names the source and stays short; never
 * another kind of exception, never a mask for input that is invalid. Bounded: about two seconds.
 */
const RUNS = { text: 500, json: 500, valid: 400, invalid: 400, easysteer: 400 };
const SOURCE = 'fuzzed.json';
const identity = { architecture: 'qwen2_moe', layers: 4, experts: 8, topK: 2, checkpoint: 'abc', precision: 'f32' as const };
const target: MaskTarget = { identity, moeLayers: [0, 2, 3] };

/** Imports `text`; returns the mask, or null after checking the error is a proper one. */
function imported(text: string): MaskEntry[] | null {
  let mask;
  try {
    mask = importMask(text, SOURCE, target).mask;
  } catch (err) {
    assert.ok(err instanceof Error && err.constructor === Error, `not a plain Error: ${(err as Error)?.stack ?? String(err)}`);
    assert.ok(err.message.startsWith(`${SOURCE}:`) || err.message.startsWith(`${SOURCE} does not fit`), err.message);
    assert.ok(err.message.length < 10_000, `${err.message.length} characters`);
    return null;
  }
  assert.ok(mask.entries.length <= MAX_MASK_ENTRIES);
  assert.equal(entryProblems(locate(mask.entries), target).count, 0, 'an imported mask fits the model');
  assert.ok(['backfill', 'drop'].includes(mask.mode) && ['natural', 'max'].includes(mask.forceWeight));
  for (const e of mask.entries) assert.deepEqual(Object.keys(e).sort(), ['expert', 'layer', 'state']);
  return mask.entries;
}

const entry = fc.record({ layer: fc.constantFrom(0, 2, 3), expert: fc.integer({ min: 0, max: 7 }), state: fc.constant('off' as const) });
/** Valid mote-mask files: off entries anywhere, at most k forced per layer. */
const validMask = fc.record({
  entries: fc.array(entry, { maxLength: 12 }),
  forced: fc.uniqueArray(fc.record({ layer: fc.constantFrom(0, 2, 3), expert: fc.integer({ min: 0, max: 7 }) }), { maxLength: 6, selector: (e) => `${e.layer}:${e.expert}` }),
  mode: fc.constantFrom('backfill', 'drop'),
  forceWeight: fc.constantFrom('natural', 'max'),
  name: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
}).map(({ entries, forced, mode, forceWeight, name }) => {
  const perLayer = new Map<number, number>();
  const forcedEntries = forced.filter((f) => (perLayer.set(f.layer, (perLayer.get(f.layer) ?? 0) + 1).get(f.layer)! <= 2))
    .map((f) => ({ ...f, state: 'forced' as const }));
  const forcedKeys = new Set(forcedEntries.map((f) => `${f.layer}:${f.expert}`));
  return {
    format: 'mote-mask', version: 1, ...(name === undefined ? {} : { name }), model: identity, mode, forceWeight,
    entries: [...entries.filter((e) => !forcedKeys.has(`${e.layer}:${e.expert}`)), ...forcedEntries],
  };
});

type MaskDoc = Record<string, unknown> & { entries: Record<string, unknown>[] };
/** Ways to break a valid mask; each must be refused (too many entries: mask-limits.test.ts, once, as it is slow). */
const breakers: [string, (m: MaskDoc) => unknown][] = [
  ['wrong format', (m) => ({ ...m, format: 'mask' })],
  ['wrong version', (m) => ({ ...m, version: 2 })],
  ['no model', (m) => ({ ...m, model: undefined })],
  ['another architecture', (m) => ({ ...m, model: { ...identity, architecture: 'mixtral' } })],
  ['more experts', (m) => ({ ...m, model: { ...identity, experts: 16 } })],
  ['unknown precision', (m) => ({ ...m, model: { ...identity, precision: 'fp8' } })],
  ['bad mode', (m) => ({ ...m, mode: 'off' })],
  ['bad force weight', (m) => ({ ...m, forceWeight: 1 })],
  ['entries not a list', (m) => ({ ...m, entries: {} })],
  ['a dense layer', (m) => ({ ...m, entries: [...m.entries, { layer: 1, expert: 0, state: 'off' }] })],
  ['a layer out of range', (m) => ({ ...m, entries: [{ layer: 4, expert: 0, state: 'off' }, ...m.entries] })],
  ['an expert out of range', (m) => ({ ...m, entries: [...m.entries, { layer: 0, expert: 8, state: 'off' }] })],
  ['a negative expert', (m) => ({ ...m, entries: [...m.entries, { layer: 0, expert: -1, state: 'off' }] })],
  ['a fractional layer', (m) => ({ ...m, entries: [...m.entries, { layer: 0.5, expert: 0, state: 'off' }] })],
  ['a bad state', (m) => ({ ...m, entries: [...m.entries, { layer: 0, expert: 0, state: 'on' }] })],
  ['off and forced', (m) => ({ ...m, entries: [...m.entries, { layer: 3, expert: 5, state: 'off' }, { layer: 3, expert: 5, state: 'forced' }] })],
  ['more than k forced', (m) => ({ ...m, entries: [0, 1, 2].map((expert) => ({ layer: 2, expert, state: 'forced' })) })],
];

describe('mask parser, fuzzed', () => {
  it(`arbitrary text (${RUNS.text} runs): a fitting mask or a short error naming the source`, () => {
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.array(fc.constantFrom('{', '}', '[', ']', ',', ':', '"format"', '"mote-mask"', '"entries"', '"layer_configs"', '"0"', '"expert_ids"', '1', '-1', '1e400', 'null', '"mode"', '"deactivate"'), { maxLength: 30 }).map((t) => t.join('')),
    );
    fc.assert(fc.property(text, (t) => void imported(t)), { numRuns: RUNS.text });
  });

  it(`arbitrary JSON values, alone or under mask keys (${RUNS.json} runs): the same`, () => {
    const value = fc.jsonValue({ maxDepth: 4 });
    const shaped = fc.oneof(
      value,
      fc.record({ format: fc.oneof(fc.constant('mote-mask'), value), version: fc.oneof(fc.constant(1), value), model: fc.oneof(fc.constant(identity), value), mode: value, forceWeight: value, entries: fc.oneof(fc.array(value), value) }, { requiredKeys: [] }),
      fc.record({ layer_configs: fc.oneof(fc.dictionary(fc.oneof(fc.constantFrom('0', '1', '2', '3', '4', '01', '-1', 'toString', '__proto__'), fc.string()), fc.oneof(value, fc.record({ mode: fc.oneof(fc.constantFrom('activate', 'deactivate', 'boost', 'suppress', 'soft', 'toString', 'constructor'), value), expert_ids: fc.oneof(fc.array(fc.integer({ min: -2, max: 9 })), value), activate_ids: fc.array(fc.integer({ min: 0, max: 9 })), deactivate_ids: fc.array(fc.integer({ min: 0, max: 9 })), epsilon: value }, { requiredKeys: [] }))), value) }),
    );
    fc.assert(fc.property(shaped, (v) => void imported(JSON.stringify(v) ?? 'null')), { numRuns: RUNS.json });
  });

  it(`valid masks (${RUNS.valid} runs) import as written, by mask.import and by the command line's reader`, () => {
    fc.assert(fc.property(validMask, (m) => {
      const text = JSON.stringify(m);
      const written = JSON.parse(text).entries;
      assert.deepEqual(imported(text), written);
      assert.deepEqual(parseMaskFile(text, SOURCE).entries, written);
    }), { numRuns: RUNS.valid });
  });

  it(`broken masks (${RUNS.invalid} runs) are never accepted`, () => {
    fc.assert(fc.property(validMask, fc.constantFrom(...breakers), (m, [what, breakIt]) => {
      assert.equal(imported(JSON.stringify(breakIt(m as MaskDoc))), null, `${what} was accepted`);
    }), { numRuns: RUNS.invalid });
  });

  it(`EasySteer configs (${RUNS.easysteer} runs): ids on MoE layers within range import, anything else is refused`, () => {
    const config = fc.dictionary(fc.constantFrom('0', '1', '2', '3', '4'), fc.record({
      mode: fc.constantFrom('activate', 'deactivate'),
      expert_ids: fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 1, maxLength: 4 }),
    }), { minKeys: 1 });
    fc.assert(fc.property(config, (layers) => {
      const entries = imported(JSON.stringify({ layer_configs: layers }));
      const fits = Object.entries(layers).every(([layer, c]) => [0, 2, 3].includes(Number(layer)) && c.expert_ids.every((e) => e < 8)
        && (c.mode === 'deactivate' || new Set(c.expert_ids).size <= 2));
      assert.equal(entries !== null, fits, JSON.stringify(layers));
    }), { numRuns: RUNS.easysteer });
  });
});
