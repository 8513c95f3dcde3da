#!/usr/bin/env node
// Fails when package-lock.json locks a version with a known security advisory (scripts/known-bad.json), or a package
// from outside the npm registry. A stand-in for `npm audit`, whose endpoint the build machines cannot reach.
// Usage: node scripts/check-deps.mjs [package-lock.json] [known-bad.json]   (default: the repository's)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REGISTRY = 'https://registry.npmjs.org/';

/** [major, minor, patch, prerelease] of a version; throws on one that is not semver. */
export function parseVersion(text) {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(text.trim());
  if (!m) throw new Error(`not a version: ${JSON.stringify(text)}`);
  return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] ?? null];
}

/** <0, 0, >0 as a sorts before, with or after b (a prerelease before its release; prereleases by their text). */
export function compareVersions(a, b) {
  const [x, y] = [parseVersion(a), parseVersion(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  if (x[3] === y[3]) return 0;
  if (x[3] === null) return 1;
  if (y[3] === null) return -1;
  return x[3] < y[3] ? -1 : 1;
}

/**
 * Whether `version` is in `range`: alternatives joined by ||, each a list of comparators (<, <=, >, >=, =, or a bare
 * version) joined by spaces, all of which must hold. Enough of npm's syntax for advisory ranges; no ^, ~ or x.
 */
export function satisfies(version, range) {
  return range.split('||').some((alternative) => {
    const comparators = alternative.trim().split(/\s+/).filter(Boolean);
    if (comparators.length === 0) throw new Error(`empty alternative in range ${JSON.stringify(range)}`);
    return comparators.every((c) => {
      const m = /^(<=|>=|<|>|=)?\s*(.+)$/.exec(c);
      const order = compareVersions(version, m[2]);
      switch (m[1] ?? '=') {
        case '<': return order < 0;
        case '<=': return order <= 0;
        case '>': return order > 0;
        case '>=': return order >= 0;
        default: return order === 0;
      }
    });
  });
}

/** The package name of a lockfile path: node_modules/a/node_modules/@s/b → @s/b. */
function nameOf(key, entry) {
  if (entry.name) return entry.name;
  const at = key.lastIndexOf('node_modules/');
  return key.slice(at + 'node_modules/'.length);
}

/**
 * Problems of a lockfile (the parsed package-lock.json, lockfileVersion 2 or 3) against a known-bad list, one line
 * each: 'protobufjs 6.11.6 (node_modules/protobufjs, required by onnx-proto): GHSA-… (CVE-…) — summary'.
 */
export function checkDeps(lock, knownBad) {
  if (!lock.packages) throw new Error(`package-lock.json has no "packages" (lockfileVersion ${lock.lockfileVersion}); regenerate it with npm 7 or newer`);
  const advisories = knownBad.advisories;
  if (!Array.isArray(advisories)) throw new Error('known-bad list: "advisories" is not a list');
  for (const a of advisories) {
    if (typeof a.package !== 'string' || typeof a.range !== 'string' || typeof a.id !== 'string') {
      throw new Error(`known-bad list: an entry needs package, range and id: ${JSON.stringify(a)}`);
    }
    satisfies('0.0.0', a.range); // A malformed range fails here, not silently later.
  }
  const problems = [];
  const entries = Object.entries(lock.packages).filter(([key, entry]) => key !== '' && !entry.link);
  for (const [key, entry] of entries) {
    const name = nameOf(key, entry);
    if (entry.resolved && !entry.resolved.startsWith(REGISTRY)) {
      problems.push(`${name} ${entry.version ?? ''} (${key}): resolved from ${entry.resolved}, not the npm registry`);
    }
    if (typeof entry.version !== 'string') continue;
    for (const a of advisories) {
      if (a.package !== name || !satisfies(entry.version, a.range)) continue;
      const dependents = entries.filter(([, e]) => e.dependencies?.[name] || e.optionalDependencies?.[name] || e.peerDependencies?.[name])
        .map(([k, e]) => nameOf(k, e));
      const root = lock.packages['']?.dependencies?.[name] || lock.packages['']?.devDependencies?.[name];
      const by = [...(root ? ['this project'] : []), ...new Set(dependents)];
      problems.push(`${name} ${entry.version} (${key}${by.length ? `, required by ${by.join(', ')}` : ''}): `
        + `${a.id}${a.cve && a.cve !== a.id ? ` (${a.cve})` : ''} — ${a.summary ?? 'see the advisory'}; affected ${a.range}`);
    }
  }
  return { problems, packages: entries.length, advisories: advisories.length };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
  const lockFile = process.argv[2] ?? path.join(root, 'package-lock.json');
  const listFile = process.argv[3] ?? path.join(root, 'scripts/known-bad.json');
  const { problems, packages, advisories } = checkDeps(JSON.parse(fs.readFileSync(lockFile, 'utf8')), JSON.parse(fs.readFileSync(listFile, 'utf8')));
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) {
    console.error(`check-deps: ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${lockFile}: move to a fixed version (an "overrides" entry in package.json for a transitive dependency), then npm install`);
    process.exit(1);
  }
  console.log(`check-deps: ok (${packages} locked packages, none in the ${advisories} known-bad ranges of ${path.relative(process.cwd(), listFile) || listFile})`);
}
