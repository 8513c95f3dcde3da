import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { readInputFile, readInputFileSync, type InputFileRules } from '../../engine/probes/inputs.ts';
import { loadProbeSet, loadProbeSetAsync, MAX_PROBE_SET_BYTES } from '../../engine/probes/load-probe-set.ts';
import { readMaskFile } from '../../engine/steering/mask-file.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-inputs-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => path.join(dir, name);

// Every kind of file a path parameter could name that is not a probe set.
fs.symlinkSync('/dev/zero', at('zero.json'));
execFileSync('mkfifo', [at('fifo.json')]);
execFileSync('mkfifo', [at('fifo.txt')]);
fs.mkdirSync(at('folder.json'));
// 5 GiB, sparse: takes no space and no time to make.
fs.closeSync(fs.openSync(at('huge.json'), 'w'));
fs.truncateSync(at('huge.json'), 5 * 2 ** 30);
fs.writeFileSync(at('latin1.json'), Buffer.from('{"id": "caf\xe9"}', 'latin1'));
fs.writeFileSync(at('bom.json'), `\ufeff${JSON.stringify({ type: 'templates', id: 'bom', title: 'BOM', classes: [{ id: 'a' }], templates: [{ text: 'hi' }], slots: {} })}`);

const RULES: InputFileRules = { what: 'a probe set', extensions: ['.json'], maxBytes: 1024 };

/** Each case: the file, and the message it must be refused with (after the file name). */
const CASES: [string, RegExp][] = [
  ['zero.json', /^is a character device, not a file; a probe set is a regular file$/],
  ['fifo.json', /^is a named pipe \(FIFO\), not a file; a probe set is a regular file$/],
  ['fifo.txt', /^a probe set is a \.json, \.yaml, \.yml file$/],
  ['folder.json', /^is a folder, not a file; a probe set is a regular file$/],
  ['huge.json', /^is 5 GiB; a probe set may be at most 2 MiB$/],
  ['latin1.json', /^is not UTF-8 text$/],
  ['missing.json', /^cannot read \(ENOENT\)$/],
];

/** Resolves with how it settled within `ms`, or 'hung'. */
function within<T>(promise: Promise<T>, ms: number): Promise<{ ok: T } | { error: Error } | 'hung'> {
  return Promise.race([
    promise.then((ok) => ({ ok }), (error: Error) => ({ error })),
    new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ms).unref()),
  ]);
}

describe('named input files: only regular files within the cap, checked on the open file', () => {
  for (const [name, reason] of CASES) {
    it(`${name}: a clear error at once, synchronously and asynchronously`, async () => {
      const file = at(name);
      const started = performance.now();
      assert.throws(() => loadProbeSet(file), (err: Error) => {
        assert.equal(err.name, 'ProbeSetError');
        assert.ok(err.message.startsWith(`${file}: `), err.message);
        assert.match(err.message.slice(file.length + 2), reason);
        return true;
      });
      const settled = await within(loadProbeSetAsync(file), 2000);
      assert.ok(settled !== 'hung' && 'error' in settled, `${name}: ${JSON.stringify(settled)}`);
      assert.match(settled.error.message.slice(file.length + 2), reason);
      assert.ok(performance.now() - started < 2000, `${name} took ${performance.now() - started} ms`);
    });
  }

  it('reads at most the cap, whatever the file claims its size is (/proc files say 0)', async () => {
    const file = at('status.json');
    fs.symlinkSync('/proc/self/status', file);
    const tiny: InputFileRules = { ...RULES, maxBytes: 16 };
    assert.throws(() => readInputFileSync(file, tiny), /status\.json: is larger than a probe set may be at most 16 bytes$/);
    await assert.rejects(readInputFile(file, tiny), /status\.json: is larger than a probe set may be at most 16 bytes$/);
    assert.match(readInputFileSync(file, { ...RULES, maxBytes: 1 << 20 }), /^Name:/);
  });

  it('strips a byte-order mark and reads a set at the cap', async () => {
    assert.equal(loadProbeSet(at('bom.json')).id, 'bom');
    assert.equal((await loadProbeSetAsync(at('bom.json'))).id, 'bom');
    const padded = at('padded.json');
    const set = JSON.stringify({ type: 'templates', id: 'pad', title: 'Pad', classes: [{ id: 'a' }], templates: [{ text: 'hi' }], slots: {} });
    fs.writeFileSync(padded, set + ' '.repeat(MAX_PROBE_SET_BYTES - set.length));
    assert.equal((await loadProbeSetAsync(padded)).id, 'pad');
    fs.appendFileSync(padded, ' ');
    await assert.rejects(loadProbeSetAsync(padded), /padded\.json: is 2\.0 MiB; a probe set may be at most 2 MiB/);
  });

  it('mask files for the command line get the same checks (.json only, 16 MiB)', () => {
    for (const [name, reason] of CASES) {
      const file = at(name);
      assert.throws(() => readMaskFile(file), (err: Error) => {
        assert.ok(err.message.startsWith(`${file}: `), err.message);
        assert.match(err.message.slice(file.length + 2), new RegExp(reason.source.replace('a probe set is a \\.json, \\.yaml, \\.yml file', 'a mask is a \\.json file')
          .replace(/a probe set/g, 'a mask').replace('2 MiB', '16 MiB')));
        return true;
      }, name);
    }
  });
});
