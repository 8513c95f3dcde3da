import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { listProbeSets } from '../../engine/probes/list-probe-sets.ts';
import { writeTemp } from './temp-files.ts';

describe('listProbeSets', () => {
  it('summarises good files and lists a malformed one with its error', async () => {
    const dir = path.dirname(writeTemp('b-good.yaml', [
      'type: templates', 'id: good', 'title: Good', 'classes: [{id: x}, {id: y}]',
      'templates: [{text: "Say {w}"}]', 'slots: {w: [a, b, c]}', '',
    ].join('\n')));
    fs.writeFileSync(path.join(dir, 'a-bad.json'), '{"type": "paired",\n "id": "bad",\n "title": "Bad", "classes": [{"id": "x"}], "items": [{"prompt": "p", "responses": {}}]}');
    fs.writeFileSync(path.join(dir, 'c-broken.yml'), 'type: [\n');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a probe set');

    const listing = await listProbeSets(dir);
    assert.deepEqual(listing.map((e) => path.basename(e.file)), ['a-bad.json', 'b-good.yaml', 'c-broken.yml']);
    assert.deepEqual(listing[1], { file: path.join(dir, 'b-good.yaml'), id: 'good', title: 'Good', type: 'templates', classes: ['x', 'y'], promptCount: 6 });
    assert.ok('error' in listing[0] && listing[0].error === `${path.join(dir, 'a-bad.json')}:3: items[0].responses: no response for class "x"`, JSON.stringify(listing[0]));
    assert.ok('error' in listing[2] && listing[2].error.startsWith(`${path.join(dir, 'c-broken.yml')}:`) && /not valid YAML/.test(listing[2].error));
  });

  it('throws only when the directory cannot be read', async () => {
    await assert.rejects(listProbeSets('/nonexistent/probes'), /ENOENT/);
  });
});
