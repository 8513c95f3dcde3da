#!/usr/bin/env node
// Bundles the Electron side (app/ → dist/app/*.cjs) and the engine process (→ dist/engine/engine-process.cjs).
// Usage: node scripts/bundle.mjs app|engine|all
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const common = {
  bundle: true,
  format: 'cjs',
  sourcemap: 'linked',
  logLevel: 'warning',
  absWorkingDir: root,
};

export async function bundleApp(outdir = 'dist/app') {
  await build({
    ...common,
    entryPoints: { main: 'app/main.ts', preload: 'app/preload.ts' },
    outdir,
    outExtension: { '.js': '.cjs' },
    platform: 'node',
    target: 'node20',
    external: ['electron'],
  });
}

const ENGINE_ENTRY = 'engine/host/engine-process.ts';

/** outfile must sit two folders below the repository root, as dist/engine/ does (see the banner). */
export async function bundleEngine(outfile = 'dist/engine/engine-process.cjs') {
  if (!fs.existsSync(path.join(root, ENGINE_ENTRY))) throw new Error(`${ENGINE_ENTRY} does not exist yet`);
  await build({
    ...common,
    entryPoints: [ENGINE_ENTRY],
    outfile,
    platform: 'node',
    target: 'node20',
    // Native addons find their .node files relative to their own package, so they stay in node_modules.
    external: ['onnxruntime-node', 'better-sqlite3'],
    // The engine locates package.json, models/ and probes/ with new URL('../..', import.meta.url); from
    // dist/engine/ that is still the app root, so give CJS the bundle's own URL.
    banner: { js: 'const __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
    define: { 'import.meta.url': '__bundleUrl' },
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const target = process.argv[2] ?? 'all';
  const jobs = { app: [bundleApp], engine: [bundleEngine], all: [bundleApp, bundleEngine] }[target];
  if (!jobs) {
    console.error(`usage: node scripts/bundle.mjs app|engine|all (got ${target})`);
    process.exit(2);
  }
  try {
    for (const job of jobs) await job();
  } catch (err) {
    console.error(`bundle: ${err.message}`);
    process.exit(1);
  }
}
