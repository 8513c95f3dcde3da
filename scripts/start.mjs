#!/usr/bin/env node
// npm start: MoTE Studio on the demo model, in Electron when its binary is installed, otherwise in browser mode.
// `npm start -- --browser` starts browser mode even where Electron is installed. Other arguments
// (npm start -- --port 8080) go to Electron or to `mote serve`.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleApp, bundleEngine } from './bundle.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const browserOnly = process.argv.includes('--browser');
const args = process.argv.slice(2).filter((arg) => arg !== '--browser');

function newestChange(dir) {
  let newest = 0;
  if (!fs.existsSync(dir)) return newest;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    const file = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestChange(file) : fs.statSync(file).mtimeMs);
  }
  return newest;
}

function rendererIsStale() {
  const built = path.join(root, 'dist', 'renderer', 'index.html');
  if (!fs.existsSync(built)) return true;
  const configs = fs.readdirSync(root).filter((name) => /^vite\.config\./.test(name) || name === 'tsconfig.renderer.json');
  const sources = Math.max(newestChange(path.join(root, 'renderer')), ...configs.map((name) => fs.statSync(path.join(root, name)).mtimeMs));
  return sources > fs.statSync(built).mtimeMs;
}

function buildRenderer() {
  if (!rendererIsStale()) return;
  const scripts = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts ?? {};
  if (!scripts['build:renderer']) {
    console.warn('start: there is no build:renderer script yet, so the UI bundle (dist/renderer) cannot be built');
    return;
  }
  const result = spawnSync('npm', ['run', '--silent', 'build:renderer'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** The Electron executable, or null when only the npm package is installed (its postinstall download failed). */
function electronBinary() {
  try {
    const binary = createRequire(import.meta.url)('electron');
    return typeof binary === 'string' && fs.existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

/**
 * Runs a command in the foreground: signals sent to us go to it, and we exit as it exits. `npm start` runs us
 * through `sh -c`, and a `kill` of npm reaches only that shell: when our parent goes, the child is stopped as if we
 * had been sent SIGTERM, so no server is left running.
 */
function runForeground(command, commandArgs, env) {
  const child = spawn(command, commandArgs, { cwd: root, env, stdio: 'inherit' });
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const forward = (signal) => child.kill(signal);
  for (const signal of signals) process.on(signal, forward);
  const parent = process.ppid;
  const orphaned = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(orphaned);
    forward('SIGTERM');
  }, 500);
  child.on('error', (err) => {
    console.error(`start: could not run ${command}: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    clearInterval(orphaned);
    for (const s of signals) process.off(s, forward);
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}

buildRenderer();
const electron = browserOnly ? null : electronBinary();
if (electron) {
  try {
    await bundleApp();
    await bundleEngine();
  } catch (err) {
    console.error(`start: ${err.message}`);
    process.exit(1);
  }
  // The engine runs on this Node (see app/engine-launch.ts), the one better-sqlite3 was built for.
  const env = { ...process.env, MOTE_NODE: process.execPath };
  delete env.ELECTRON_RUN_AS_NODE;
  runForeground(electron, [root, ...args], env);
} else {
  if (!browserOnly) {
    console.error("Electron's binary is not installed here (its download needs GitHub access; run "
      + '`node node_modules/electron/install.js` where GitHub is reachable). Starting browser mode instead:');
  }
  runForeground(process.execPath, [path.join(root, 'bin', 'mote.js'), 'serve', '--open', ...args], process.env);
}
