import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { expandProbeSet, expansionSize, MAX_PROBE_PROMPTS, MAX_PROBE_TEXT_CHARS, promptCount } from '../../engine/probes/expand.ts';
import { listProbeSets } from '../../engine/probes/list-probe-sets.ts';
import { loadProbeSet, parseProbeSet } from '../../engine/probes/load-probe-set.ts';
import type { PairedProbeSet, TemplateProbeSet } from '../../engine/probes/probe-set.ts';
import { ProbeSetError } from '../../engine/probes/problems.ts';
import { lineOf, writeTemp } from './temp-files.ts';

/** The review's bomb: 3.6 KB, 8 slots × 30 values, 30^8 = 656 100 000 000 prompts per class. */
function bomb(): TemplateProbeSet {
  const names = ['who', 'what', 'where', 'when', 'why', 'how', 'mood', 'tone'];
  return {
    type: 'templates', id: 'bomb', title: 'Bomb', classes: [{ id: 'a' }, { id: 'b' }],
    templates: [{ text: 'Tell me about a small thing.' }, { text: names.map((n) => `{${n}}`).join(' ') }],
    slots: Object.fromEntries(names.map((n) => [n, Array.from({ length: 30 }, (_, i) => String(i))])),
  };
}

/** One property per line, lists on one line: small, with useful line numbers. */
const json = (value: unknown) => JSON.stringify(value, null, 1).replace(/\[\n\s*("[^\]]*)\n\s*\]/g, (_, inner: string) => `[${inner.replace(/\n\s*/g, ' ')}]`);

/** Milliseconds `f` takes. */
function timed<T>(f: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = f();
  return { value, ms: performance.now() - start };
}

describe('probe-set expansion limits', () => {
  it('refuses the 8 × 30 slot bomb at once, naming the template, its line and the product of slot sizes', () => {
    const text = json(bomb());
    assert.ok(text.length < 4000, `${text.length} bytes`);
    const file = writeTemp('bomb.json', text);
    const { value: error, ms } = timed(() => {
      try {
        loadProbeSet(file);
      } catch (err) {
        return err;
      }
      return null;
    });
    assert.ok(ms < 1000, `refused in ${ms} ms`);
    assert.ok(error instanceof ProbeSetError, String(error));
    assert.equal(error.message, `${file}:${lineOf(text, '"text": "{who}')}: templates[1].text: expands to `
      + '{who} 30 × {what} 30 × {where} 30 × {when} 30 × {why} 30 × {how} 30 × {mood} 30 × {tone} 30 = 656,100,000,000 prompts '
      + `for class "a" (and is expanded for 2 classes), more than the ${MAX_PROBE_PROMPTS.toLocaleString('en')} a probe set may expand to`);
  });

  it('counts without expanding: expandProbeSet refuses an oversized set before building a prompt', () => {
    const set = bomb();
    assert.equal(promptCount(set), 2 + 2 * 30 ** 8);
    const { ms } = timed(() => assert.throws(() => expandProbeSet(set), /^Error: probe set bomb: templates\[1\]\.text: expands to \{who\} 30 × .* = 656,100,000,000 prompts/));
    assert.ok(ms < 100, `${ms} ms`);
  });

  it('names the templates when only their sum is too large, and allows exactly the limit', () => {
    const values = (n: number) => Array.from({ length: n }, (_, i) => `v${i}`);
    const set = (n: number): TemplateProbeSet => ({
      type: 'templates', id: 'sum', title: 'Sum', classes: [{ id: 'a' }],
      templates: [{ text: 'x {x} {y}' }, { text: 'y {x} {y}' }],
      slots: { x: values(n), y: values(250) },
    });
    // 2 templates × n × 250 prompts: 200 × 250 × 2 = 100 000 exactly.
    assert.equal(parseProbeSet(json(set(200)), 'sum.json').id, 'sum');
    assert.equal(expandProbeSet(set(200)).length, MAX_PROBE_PROMPTS);
    assert.throws(() => parseProbeSet(json(set(201)), 'sum.json'), (err: ProbeSetError) => {
      assert.match(err.message, /^sum\.json:\d+: templates: the templates expand to 100,500 prompts in all \(templates\[0\]: 50,250, templates\[1\]: 50,250\), more than the 100,000/);
      return true;
    });
  });

  it('bounds the text too: few prompts of huge text are refused, naming the template', () => {
    const long = 'x'.repeat(50_000);
    const set: TemplateProbeSet = {
      type: 'templates', id: 'wide', title: 'Wide', classes: [{ id: 'a' }],
      templates: [{ text: Array(40).fill('{s}').join(' ') }],
      slots: { s: Array.from({ length: 20 }, (_, i) => `${long}${i}`) },
    };
    // 20 prompts, each 40 copies of a 50 000-character value: 40 M characters.
    assert.equal(expansionSize(set).prompts, 20);
    assert.ok(expansionSize(set).chars > MAX_PROBE_TEXT_CHARS);
    assert.throws(() => parseProbeSet(json(set), 'wide.json'), /wide\.json:\d+: templates\[0\]\.text: expands to \{s\} 20 = 20 prompts holding 40,\d{3},\d{3} characters, more than the 32,000,000/);
  });

  it('bounds paired sets by items × classes', () => {
    const set: PairedProbeSet = {
      type: 'paired', id: 'pairs', title: 'Pairs', classes: Array.from({ length: 5 }, (_, i) => ({ id: `c${i}` })),
      items: Array.from({ length: 20_001 }, (_, i) => ({ prompt: `p${i}`, responses: Object.fromEntries(Array.from({ length: 5 }, (_, c) => [`c${c}`, 'r'])) })),
    };
    assert.throws(() => expandProbeSet(set), /items: 20,001 items × 5 classes = 100,005 prompts, more than the 100,000/);
  });

  it('counts exactly what expansion produces', () => {
    for (const name of fs.readdirSync(path.resolve(import.meta.dirname, '../../probes')).filter((f) => f.endsWith('.json'))) {
      const set = loadProbeSet(path.resolve(import.meta.dirname, '../../probes', name));
      const prompts = expandProbeSet(set);
      const size = expansionSize(set);
      assert.equal(size.prompts, prompts.length, name);
      assert.equal(size.chars, prompts.reduce((a, p) => a + p.text.length, 0), name);
    }
  });

  it('the listing counts the bomb as an error line and lists the other sets, without expanding anything', async () => {
    const dir = path.dirname(writeTemp('a-bomb.json', json(bomb())));
    fs.writeFileSync(path.join(dir, 'b-ok.yaml'), 'type: templates\nid: ok\ntitle: OK\nclasses: [{id: x}]\ntemplates: [{text: "{w} {w} {v}"}]\nslots: {w: [a, b], v: [c, d, e]}\n');
    const start = performance.now();
    const listing = await listProbeSets(dir);
    assert.ok(performance.now() - start < 2000);
    assert.match((listing[0] as { error: string }).error, /a-bomb\.json:\d+: templates\[1\]\.text: expands to .* = 656,100,000,000 prompts/);
    assert.deepEqual(listing[1], { file: path.join(dir, 'b-ok.yaml'), id: 'ok', title: 'OK', type: 'templates', classes: ['x'], promptCount: 6 });
    // The listing module has no way to expand: it imports only the count.
    const source = fs.readFileSync(path.resolve(import.meta.dirname, '../../engine/probes/list-probe-sets.ts'), 'utf8');
    assert.doesNotMatch(source, /expandProbeSet/);
  });
});
