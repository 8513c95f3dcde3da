import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CONTENT_SECURITY_POLICY, contentType, originOf, rendererFile, START_URL } from '../../app/renderer-files.ts';

const root = path.resolve('/srv/renderer');

describe('rendererFile', () => {
  it('maps app://mote paths into the renderer folder', () => {
    assert.equal(rendererFile(root, START_URL), path.join(root, 'index.html'));
    assert.equal(rendererFile(root, 'app://mote/'), path.join(root, 'index.html'));
    assert.equal(rendererFile(root, 'app://mote/assets/index-abc.js?v=1#x'), path.join(root, 'assets', 'index-abc.js'));
    assert.equal(rendererFile(root, 'app://mote/assets/a%20b.css'), path.join(root, 'assets', 'a b.css'));
  });

  it('refuses other origins, NUL bytes and broken escapes', () => {
    for (const url of ['app://other/index.html', 'file:///srv/renderer/index.html', 'https://mote/index.html', 'not a url',
      'app://mote/a%00.js', 'app://mote/%E0%A4%A']) {
      assert.equal(rendererFile(root, url), null, url);
    }
  });

  it('never names a file outside the folder', () => {
    for (const url of ['app://mote/../secret', 'app://mote/%2e%2e/secret', 'app://mote/assets/%2e%2e%2f%2e%2e%2fsecret',
      'app://mote/..%5c..%5csecret', 'app://mote/%2fetc%2fpasswd', 'app://mote//etc/passwd']) {
      const file = rendererFile(root, url);
      assert.ok(file === null || file.startsWith(root + path.sep), `${url} → ${file}`);
    }
    assert.equal(rendererFile(root, 'app://mote/assets/%2e%2e%2f%2e%2e%2fsecret'), null);
  });
});

describe('renderer responses', () => {
  it('names content types by extension', () => {
    assert.equal(contentType('/x/index.html'), 'text/html; charset=utf-8');
    assert.equal(contentType('/x/a.JS'), 'text/javascript; charset=utf-8');
    assert.equal(contentType('/x/a.wasm'), 'application/wasm');
    assert.equal(contentType('/x/a.unknown'), 'application/octet-stream');
  });

  it('gives the scheme and host of app:// URLs, which URL.origin cannot', () => {
    assert.equal(originOf('app://mote/index.html'), 'app://mote');
    assert.equal(originOf('nonsense'), '');
  });

  it('keeps the CSP to self: no remote sources, no eval, no inline script', () => {
    assert.match(CONTENT_SECURITY_POLICY, /default-src 'self'/);
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-|https?:|\*/);
  });
});
