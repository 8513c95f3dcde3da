#!/usr/bin/env node
// Before electron-builder: copies this Node executable to dist/node/, which the package ships as resources/node
// for the engine process (app/engine-launch.ts says why it is not Electron's). It must be the Node that
// node_modules were installed with, because better-sqlite3 is built for one Node ABI; that is checked here.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = path.join(root, 'dist', 'node', process.platform === 'win32' ? 'node.exe' : 'node');

try {
  const Database = createRequire(path.join(root, 'package.json'))('better-sqlite3');
  new Database(':memory:').close();
} catch (err) {
  console.error(`stage-node: better-sqlite3 does not load in Node ${process.version} (ABI ${process.versions.modules}): `
    + `${err.message}\nRun \`npm rebuild better-sqlite3\` with this Node, or stage with the Node that installed it.`);
  process.exit(1);
}

fs.mkdirSync(path.dirname(target), { recursive: true });
fs.copyFileSync(process.execPath, target);
fs.chmodSync(target, 0o755);
console.log(`stage-node: ${path.relative(root, target)} ← Node ${process.version} (ABI ${process.versions.modules}, ${process.platform}-${process.arch})`);
