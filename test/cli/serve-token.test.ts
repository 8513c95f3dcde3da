import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('mote serve MOTE_SERVE_TOKEN', () => {
  it('refuses a token it would not accept back from a browser, before serving anything', () => {
    for (const token of ['short', 'has spaces in it, sixteen+']) {
      const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/mote.js'), 'serve', '--port', '0'], {
        encoding: 'utf8', env: { ...process.env, MOTE_SERVE_TOKEN: token }, timeout: 30_000,
      });
      assert.equal(r.status, 1, `${JSON.stringify(token)}: exit code`);
      assert.equal(r.stdout, '', 'no URL printed');
      assert.match(r.stderr, /^mote: MOTE_SERVE_TOKEN must be 16–256 letters, digits, - or _\n?$/);
    }
  });
});
