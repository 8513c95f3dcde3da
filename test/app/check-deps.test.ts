import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { checkDeps, compareVersions, satisfies } from '../../scripts/check-deps.mjs';

const ROOT = path.resolve(import.meta.dirname, '../..');
const KNOWN_BAD = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts/known-bad.json'), 'utf8'));

/** A lockfile (v3) with these packages under node_modules, each { version, dependencies?, resolved? }. */
function lock(packages: Record<string, Record<string, unknown>>, rootDeps: Record<string, string> = {}) {
  return { lockfileVersion: 3, packages: { '': { name: 'x', dependencies: rootDeps }, ...packages } };
}

describe('check-deps (issue 11, case 8)', () => {
  it('compares versions and matches advisory ranges', () => {
    assert.ok(compareVersions('7.5.5', '7.5.10') < 0);
    assert.ok(compareVersions('8.0.0-beta.1', '8.0.0') < 0);
    assert.equal(compareVersions('v1.2.3', '1.2.3+build'), 0);
    assert.ok(satisfies('6.11.6', '<7.5.5 || 8.0.0'));
    assert.ok(satisfies('8.0.0', '<7.5.5 || 8.0.0'));
    assert.ok(!satisfies('8.0.1', '<7.5.5 || 8.0.0'));
    assert.ok(satisfies('7.6.0', '>=7.5.0 <7.6.5 || >=8.0.0 <8.6.6'));
    assert.ok(!satisfies('7.6.6', '>=7.5.0 <7.6.5 || >=8.0.0 <8.6.6'));
    assert.ok(satisfies('0.24.2', '<=0.24.2') && !satisfies('0.25.0', '<=0.24.2'));
    assert.throws(() => satisfies('1.0.0', '<banana'), /not a version: "banana"/);
  });

  it('finds protobufjs 6.11.6 under onnx-proto, the lockfile as it was', () => {
    const before = lock({
      'node_modules/onnx-proto': { version: '8.0.1', dependencies: { protobufjs: '^6.11.2' } },
      'node_modules/protobufjs': { version: '6.11.6' },
    }, { 'onnx-proto': '^8.0.1' });
    const { problems } = checkDeps(before, KNOWN_BAD);
    assert.ok(problems.length > 0);
    assert.ok(problems.every((p) => p.startsWith('protobufjs 6.11.6 (node_modules/protobufjs, required by onnx-proto): ')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('GHSA-xq3m-2v4x-88gg (CVE-2026-41242)')), problems.join('\n'));
    const fixed = lock({ 'node_modules/onnx-proto': { version: '8.0.1' }, 'node_modules/protobufjs': { version: '7.6.6' } });
    assert.deepEqual(checkDeps(fixed, KNOWN_BAD).problems, []);
  });

  it('checks nested and scoped packages, and refuses tarballs from outside the registry', () => {
    const nested = lock({
      'node_modules/a': { version: '1.0.0', dependencies: { ws: '^8.0.0' } },
      'node_modules/a/node_modules/ws': { version: '8.17.0' },
      'node_modules/@s/b': { version: '1.0.0', resolved: 'https://evil.example/b-1.0.0.tgz' },
      'node_modules/c': { version: '2.0.0', resolved: 'https://registry.npmjs.org/c/-/c-2.0.0.tgz' },
      'node_modules/linked': { link: true, resolved: '../linked' },
    });
    assert.deepEqual(checkDeps(nested, KNOWN_BAD).problems, [
      'ws 8.17.0 (node_modules/a/node_modules/ws, required by a): GHSA-3h5v-q93c-6h6q (CVE-2024-37890) — denial of service: a request with many HTTP headers crashes a ws server; affected >=2.1.0 <5.2.4 || >=6.0.0 <6.2.3 || >=7.0.0 <7.5.10 || >=8.0.0 <8.17.1',
      '@s/b 1.0.0 (node_modules/@s/b): resolved from https://evil.example/b-1.0.0.tgz, not the npm registry',
    ]);
  });

  it('refuses a malformed list', () => {
    assert.throws(() => checkDeps(lock({}), { advisories: [{ package: 'x', range: '>=1 <2', id: 'X' }] }), /not a version: "1"/);
    assert.throws(() => checkDeps(lock({}), { advisories: [{ package: 'x', id: 'X' }] } as never), /needs package, range and id/);
  });

  it('passes on the repository’s lockfile, and fails the command on a bad one', () => {
    const ok = spawnSync(process.execPath, [path.join(ROOT, 'scripts/check-deps.mjs')], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^check-deps: ok \(\d+ locked packages, none in the \d+ known-bad ranges/);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mote-deps-')), 'package-lock.json');
    fs.writeFileSync(file, JSON.stringify(lock({ 'node_modules/protobufjs': { version: '7.5.4' } })));
    const bad = spawnSync(process.execPath, [path.join(ROOT, 'scripts/check-deps.mjs'), file], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^protobufjs 7\.5\.4 \(node_modules\/protobufjs\): GHSA-xq3m-2v4x-88gg/m);
    assert.match(bad.stderr, /check-deps: \d+ problems in .*: move to a fixed version \(an "overrides" entry/);
  });
});
