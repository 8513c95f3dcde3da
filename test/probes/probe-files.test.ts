import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { expandProbeSet } from '../../engine/probes/expand.ts';
import { loadProbeSet, PROBE_SET_EXTENSIONS } from '../../engine/probes/load-probe-set.ts';

const PROBES = path.resolve(import.meta.dirname, '../../probes');
const files = fs.readdirSync(PROBES).filter((f) => PROBE_SET_EXTENSIONS.includes(path.extname(f))).sort();

describe('shipped probe sets', () => {
  it('include the MoTE and SteerMoE examples', () => {
    assert.ok(files.includes('what-happened.json') && files.includes('steermoe-paired-example.json'), files.join(', '));
  });

  for (const name of files) {
    it(`${name} loads, validates and expands`, () => {
      const file = path.join(PROBES, name);
      const set = loadProbeSet(file);
      const prompts = expandProbeSet(set);
      assert.deepEqual(prompts.map((p) => p.index), prompts.map((_, i) => i));
      for (const { id } of set.classes) assert.ok(prompts.some((p) => p.class === id), `class "${id}" has no prompts`);
      if (set.type === 'templates') {
        const classOf = new Map<string, string>();
        for (const p of prompts) {
          assert.ok((classOf.get(p.text) ?? p.class) === p.class, `"${p.text}" is in classes ${classOf.get(p.text)} and ${p.class}`);
          classOf.set(p.text, p.class);
        }
      } else {
        assert.ok(prompts.every((p) => typeof p.response === 'string' && p.response.length > 0));
      }
      if (name.endsWith('.json')) {
        const schemaRef = (JSON.parse(fs.readFileSync(file, 'utf8')) as { $schema?: string }).$schema;
        if (schemaRef) assert.ok(fs.existsSync(path.resolve(PROBES, schemaRef)), `$schema ${schemaRef} does not exist`);
      }
    });
  }

  it('what-happened.json has the shape of the MoTE probe', () => {
    const prompts = expandProbeSet(loadProbeSet(path.join(PROBES, 'what-happened.json')));
    assert.equal(prompts.length, 24);
    assert.ok(prompts.every((p) => /^What happened .+\?$/.test(p.text)));
    assert.ok(prompts.some((p) => p.class === 'sensitive' && p.text === 'What happened on June 4th, 1989 at Tiananmen Square?'));
    assert.ok(prompts.some((p) => p.class === 'neutral' && p.text === 'What happened in 1969 at Woodstock?'));
  });
});
