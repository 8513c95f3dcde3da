import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandProbeSet } from '../../engine/probes/expand.ts';
import { parseProbeSet } from '../../engine/probes/load-probe-set.ts';
import type { PairedProbeSet, TemplateProbeSet } from '../../engine/probes/probe-set.ts';

/** Goes through the loader, so the sets expanded here are ones it accepts. */
const load = (set: TemplateProbeSet | PairedProbeSet) => parseProbeSet(JSON.stringify(set), `${set.id}.json`);

const base = { type: 'templates' as const, title: 'Test', classes: [{ id: 'a' }, { id: 'b' }] };

describe('expandProbeSet: template sets', () => {
  it('orders by template, then class, then slot values with the last placeholder varying fastest', () => {
    const prompts = expandProbeSet(load({
      ...base,
      id: 'order',
      templates: [{ text: '{x} then {y}' }, { text: 'only b: {x}', classes: ['b'] }],
      // y is declared first, but x comes first in the text, so x is the outer loop.
      slots: { y: ['1', '2'], x: { a: ['p', 'q'], b: ['r'] } },
    }));
    assert.deepEqual(prompts.map((p) => [p.index, p.class, p.text]), [
      [0, 'a', 'p then 1'], [1, 'a', 'p then 2'], [2, 'a', 'q then 1'], [3, 'a', 'q then 2'],
      [4, 'b', 'r then 1'], [5, 'b', 'r then 2'],
      [6, 'b', 'only b: r'],
    ]);
    assert.deepEqual(prompts[3].slots, { x: 'q', y: '2' });
    assert.equal(prompts[6].template, 'only b: {x}');
    assert.equal(expandProbeSet(load({ ...base, id: "count", templates: [{ text: "{x} then {y}" }], slots: { y: ["1", "2"], x: ["p", "q"] } })).length, 8);
  });

  it('fills a slot used twice with one value and expands a template without slots once per class', () => {
    const prompts = expandProbeSet(load({ ...base, id: 'twice', templates: [{ text: '{x}, {x}!' }, { text: 'Hello.' }], slots: { x: ['go', 'stop'] } }));
    assert.deepEqual(prompts.map((p) => `${p.class}:${p.text}`), ['a:go, go!', 'a:stop, stop!', 'b:go, go!', 'b:stop, stop!', 'a:Hello.', 'b:Hello.']);
    assert.deepEqual(prompts[4].slots, {});
  });

  it('reads {{ and }} as literal braces and inserts slot values verbatim', () => {
    const prompts = expandProbeSet(load({ ...base, id: 'braces', classes: [{ id: 'a' }], templates: [{ text: 'Fill {{name}}: {{{x}}} }}' }], slots: { x: ['{y}'] } }));
    assert.equal(prompts[0].text, 'Fill {name}: {{y}} }');
  });

  it('takes the answer of the slot value, and of the last answered slot in the text when several are', () => {
    const prompts = expandProbeSet(load({
      ...base,
      id: 'answers',
      classes: [{ id: 'a' }],
      templates: [{ text: 'Capital of {country}?' }, { text: '{country} / {river}' }, { text: '{river} / {country}' }],
      slots: { country: [{ text: 'France', answer: 'Paris' }, 'Atlantis', { text: 'Peru' }], river: [{ text: 'Nile', answer: 'Egypt' }] },
    }));
    assert.deepEqual(prompts.map((p) => [p.text, p.answer]), [
      ['Capital of France?', 'Paris'], ['Capital of Atlantis?', undefined], ['Capital of Peru?', undefined],
      ['France / Nile', 'Egypt'], ['Atlantis / Nile', 'Egypt'], ['Peru / Nile', 'Egypt'],
      ['Nile / France', 'Paris'], ['Nile / Atlantis', 'Egypt'], ['Nile / Peru', 'Egypt'],
    ]);
    assert.equal('answer' in prompts[1], false);
    assert.deepEqual(prompts[0].slots, { country: 'France' });
  });
});

describe('expandProbeSet: paired sets', () => {
  it('gives one prompt per item and class, in item then class order, with the class response', () => {
    const prompts = expandProbeSet(load({
      type: 'paired', id: 'pairs', title: 'Pairs', classes: [{ id: 'safe' }, { id: 'unsafe' }],
      items: [
        { prompt: 'How do I {pick} a lock?', responses: { unsafe: 'Insert a tension wrench…', safe: 'Call a locksmith.' } },
        { prompt: 'Q2', responses: { safe: 's2', unsafe: 'u2' } },
      ],
    }));
    assert.deepEqual(prompts, [
      { index: 0, class: 'safe', text: 'How do I {pick} a lock?', response: 'Call a locksmith.' },
      { index: 1, class: 'unsafe', text: 'How do I {pick} a lock?', response: 'Insert a tension wrench…' },
      { index: 2, class: 'safe', text: 'Q2', response: 's2' },
      { index: 3, class: 'unsafe', text: 'Q2', response: 'u2' },
    ]);
  });
});
