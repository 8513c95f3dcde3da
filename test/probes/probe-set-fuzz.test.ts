import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { expandProbeSet, expansionSize, MAX_PROBE_PROMPTS, MAX_PROBE_TEXT_CHARS } from '../../engine/probes/expand.ts';
import { loadProbeSetAsync, parseProbeSet } from '../../engine/probes/load-probe-set.ts';
import type { ProbeSet, TemplateProbeSet } from '../../engine/probes/probe-set.ts';
import { ProbeSetError } from '../../engine/probes/problems.ts';

/**
 * Issue 11 item 9, the probe-set loader: on any input it either returns a set that expands within the limits to
 * exactly the prompts it counts, or throws a ProbeSetError every line of which names the file; never another
 * exception, never a set for input that is invalid. Bounded: a few seconds in all (the counts are in RUNS).
 */
const RUNS = { text: 400, json: 400, valid: 300, invalid: 300, files: 100 };

/** Checks one outcome of loading `text` as `file`; returns the set, or null when it was refused properly. */
function outcome(run: () => ProbeSet, file: string): ProbeSet | null {
  let set: ProbeSet;
  try {
    set = run();
  } catch (err) {
    assert.ok(err instanceof ProbeSetError, `${file}: ${(err as Error)?.stack ?? String(err)}`);
    assert.equal(err.file, file);
    for (const line of err.message.split('\n')) assert.ok(line.startsWith(`${file}:`), `a line without the file: ${JSON.stringify(line)}`);
    assert.ok(err.message.length < 25_000, `${err.message.length} characters`);
    return null;
  }
  const size = expansionSize(set);
  assert.ok(size.prompts <= MAX_PROBE_PROMPTS && size.chars <= MAX_PROBE_TEXT_CHARS);
  const prompts = expandProbeSet(set);
  assert.equal(prompts.length, size.prompts);
  assert.equal(prompts.reduce((a, p) => a + p.text.length, 0), size.chars);
  return set;
}

const file = fc.constantFrom('set.json', 'set.yaml', 'set.yml', 'set.txt', 'SET.JSON');

// A valid template set, built so that every reference resolves.
const ident = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,5}$/);
const literal = fc.string({ maxLength: 6 }).map((s) => s.replace(/[{}]/g, ''));
const slotValue = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.record({ text: fc.string({ maxLength: 6 }), answer: fc.string({ minLength: 1, maxLength: 3 }) }, { requiredKeys: ['text'] }),
);
const SLOT_NAMES = ['s0', 's1', 's2', 's3', 's4'];
const validSet: fc.Arbitrary<TemplateProbeSet> = fc.uniqueArray(ident, { minLength: 1, maxLength: 3 }).chain((classes) => fc.record({
  type: fc.constant('templates' as const),
  id: ident,
  title: fc.string({ minLength: 1, maxLength: 8 }),
  chat: fc.option(fc.boolean(), { nil: undefined }),
  classes: fc.constant(classes.map((id) => ({ id }))),
  templates: fc.array(fc.record({
    text: fc.array(fc.oneof(literal, fc.constantFrom(...SLOT_NAMES).map((n) => `{${n}}`), fc.constantFrom('{{', '}}')), { minLength: 1, maxLength: 6 })
      .map((parts) => parts.join('') || 'x'),
    classes: fc.option(fc.subarray(classes, { minLength: 1 }), { nil: undefined }),
  }, { requiredKeys: ['text'] }), { minLength: 1, maxLength: 3 }),
  slots: fc.record(Object.fromEntries(SLOT_NAMES.map((n) => [n, fc.oneof(
    fc.array(slotValue, { minLength: 1, maxLength: 4 }),
    fc.record(Object.fromEntries(classes.map((c) => [c, fc.array(slotValue, { minLength: 1, maxLength: 3 })]))),
  )]))),
}, { requiredKeys: ['type', 'id', 'title', 'classes', 'templates', 'slots'] }));

/** Ways to break a valid set; each must make the loader refuse it. */
const breakers: [string, (set: TemplateProbeSet) => unknown][] = [
  ['drop a required property', (s) => {
    const copy: Record<string, unknown> = { ...s };
    delete copy[['type', 'id', 'title', 'classes', 'templates', 'slots'][s.id.length % 6]];
    return copy;
  }],
  ['an invalid id', (s) => ({ ...s, id: `${s.id} !` })],
  ['an empty class list', (s) => ({ ...s, classes: [] })],
  ['a duplicate class', (s) => ({ ...s, classes: [...s.classes, s.classes[0]] })],
  ['a placeholder with no slot', (s) => ({ ...s, templates: [...s.templates, { text: 'x {nope}' }] })],
  ['a lone brace', (s) => ({ ...s, templates: [{ text: 'x { y' }, ...s.templates] })],
  ['a slot value of the wrong type', (s) => ({ ...s, slots: { ...s.slots, s0: [7] } })],
  ['an unknown property', (s) => ({ ...s, extra: true })],
  ['a template for an unknown class', (s) => ({ ...s, templates: [{ text: 'x', classes: ['no-such-class!'] }] })],
  ['a bad regex', (s) => ({ ...s, classifier: { rules: [{ label: s.classes[0].id, regex: ['('] }], otherwise: s.classes[0].id } })],
  ['too many prompts', (s) => ({
    ...s,
    templates: [{ text: SLOT_NAMES.map((n) => `{${n}}`).join(' ') }],
    slots: Object.fromEntries(SLOT_NAMES.map((n) => [n, Array.from({ length: 11 }, (_, i) => String(i))])),
  })],
];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-probe-fuzz-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('probe-set loader, fuzzed', () => {
  it(`arbitrary text (${RUNS.text} runs): a set or a ProbeSetError naming the file`, () => {
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.array(fc.constantFrom('type: ', 'templates', 'paired', '\n', '- ', '{', '}', '[', ']', ':', '&a ', '*a', '"', 'id: x', '  ', '#', '!!str ', '<<: '), { maxLength: 40 }).map((t) => t.join('')),
    );
    fc.assert(fc.property(text, file, (t, f) => {
      outcome(() => parseProbeSet(t, f), f);
    }), { numRuns: RUNS.text });
  });

  it(`arbitrary JSON values (${RUNS.json} runs): the same`, () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom('set.json', 'set.yaml'), (v, f) => {
      outcome(() => parseProbeSet(JSON.stringify(v) ?? 'null', f), f);
    }), { numRuns: RUNS.json });
  });

  it(`valid template sets (${RUNS.valid} runs) load, in JSON and YAML, and expand to what they count`, () => {
    fc.assert(fc.property(validSet, (set) => {
      const loaded = outcome(() => parseProbeSet(JSON.stringify(set), 'v.json'), 'v.json');
      assert.ok(loaded, 'a valid set was refused');
      assert.deepEqual(outcome(() => parseProbeSet(JSON.stringify(set), 'v.yaml'), 'v.yaml'), loaded);
    }), { numRuns: RUNS.valid });
  });

  it(`broken sets (${RUNS.invalid} runs) are never accepted`, () => {
    fc.assert(fc.property(validSet, fc.constantFrom(...breakers), (set, [what, breakIt]) => {
      const text = JSON.stringify(breakIt(set));
      assert.equal(outcome(() => parseProbeSet(text, 'b.json'), 'b.json'), null, `${what} was accepted: ${text}`);
    }), { numRuns: RUNS.invalid });
  });

  it(`arbitrary bytes on disk (${RUNS.files} runs), read without blocking: the same`, async () => {
    let n = 0;
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), file, async (bytes, name) => {
      const f = path.join(dir, `${n++}-${name}`);
      fs.writeFileSync(f, bytes);
      let result: ProbeSet | Error;
      try {
        result = await loadProbeSetAsync(f);
      } catch (err) {
        result = err as Error;
      }
      outcome(() => {
        if (result instanceof Error) throw result;
        return result;
      }, f);
    }), { numRuns: RUNS.files });
  });
});
