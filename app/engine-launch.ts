import { fork } from 'node:child_process';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ClientMessage } from '../engine/protocol/messages.ts';
import type { EngineChild, EngineChildHandlers, EngineExit } from './engine-supervisor.ts';

/**
 * Why the engine runs on a plain Node binary, not on Electron's:
 * Chromium's PartitionAlloc replaces malloc in the Electron executable, and it traps (SIGTRAP) on large single
 * allocations such as onnxruntime's BFCArena::Extend → posix_memalign (microsoft/onnxruntime#29763,
 * lmstudio-bug-tracker#285, electron/electron#44291). utilityProcess.fork and child_process.fork with
 * ELECTRON_RUN_AS_NODE both run that same executable (Mintplex-Labs/anything-llm#5936 crashed that way), so
 * neither isolates inference from it, and one Mixtral-sized MoE layer's fused expert weights are 3.7 GiB in fp32.
 * (Electron's ban on external ArrayBuffers is not the issue: onnxruntime-node 1.30 copies outputs into V8 memory.)
 * A real Node also lets the packaged app disable the RunAsNode fuse. Cost: the package ships a Node binary (resources/node,
 * staged by scripts/stage-node.mjs), and better-sqlite3 must be built for that Node's ABI, not Electron's.
 */
export interface EngineLayout {
  /** The Node executable; a bare name is looked up on PATH. */
  nodePath: string;
  /** The bundled engine (dist/engine/engine-process.cjs), outside app.asar because plain Node cannot read asar. */
  script: string;
  env: Record<string, string>;
}

export interface EngineLocations {
  packaged: boolean;
  /** app.getAppPath(): the checkout in development, resources/app.asar when packaged. */
  appRoot: string;
  resourcesPath: string;
  userData: string;
  platform: NodeJS.Platform;
  /** Node to use in development (npm start passes its own as MOTE_NODE); defaults to `node` on PATH. */
  devNode?: string;
}

export function engineLayout(where: EngineLocations): EngineLayout {
  const p = where.platform === 'win32' ? path.win32 : path.posix;
  const unpacked = where.packaged ? p.join(where.resourcesPath, 'app.asar.unpacked') : where.appRoot;
  const data = where.packaged ? where.resourcesPath : where.appRoot;
  const nodePath = where.packaged
    ? p.join(where.resourcesPath, 'node', where.platform === 'win32' ? 'node.exe' : 'node')
    : where.devNode ?? 'node';
  return {
    nodePath,
    script: p.join(unpacked, 'dist', 'engine', 'engine-process.cjs'),
    env: {
      MOTE_DEMO_MODEL: p.join(data, 'models', 'demo'),
      MOTE_PROBES_DIR: p.join(data, 'probes'),
      MOTE_DB: p.join(where.userData, 'mote.db'),
      MOTE_CACHE_DIR: p.join(where.userData, 'cache'),
    },
  };
}

const STDERR_TAIL_LINES = 20;

function eachLine(stream: Readable | null, onLine: (line: string) => void): void {
  if (stream === null) return;
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split(/\r?\n/);
    rest = lines.pop() ?? '';
    lines.forEach(onLine);
  });
  stream.on('end', () => {
    if (rest !== '') onLine(rest);
  });
}

export type EngineLog = (line: string, stream: 'stdout' | 'stderr') => void;

/** Starts the engine over a Node IPC channel (the engine's process.on('message') / process.send). */
export function forkEngine(layout: EngineLayout, handlers: EngineChildHandlers, log: EngineLog): EngineChild {
  const child = fork(layout.script, [], {
    execPath: layout.nodePath,
    // Not Electron's own flags (an --inspect port would clash); stack traces in the stderr tail name TS sources.
    execArgv: ['--enable-source-maps'],
    env: { ...process.env, ...layout.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
  });
  const stderrTail: string[] = [];
  let startError: string | undefined;
  let spawned = false;
  eachLine(child.stdout, (line) => log(line, 'stdout'));
  eachLine(child.stderr, (line) => {
    log(line, 'stderr');
    stderrTail.push(line);
    if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
  });
  child.once('spawn', () => {
    spawned = true;
    handlers.spawned();
  });
  child.on('message', (message) => handlers.message(message));
  child.on('error', (error) => {
    // After a failed spawn only 'close' follows, never 'exit'; later errors (a failed kill) are only logged.
    if (!spawned) startError = error.message;
    else log(`engine process error: ${error.message}`, 'stderr');
  });
  // 'close' comes after the stdio streams ended, so the stderr tail is complete.
  child.once('close', (code, signal) => {
    const exit: EngineExit = { code, signal, stderrTail: [...stderrTail] };
    if (startError !== undefined) exit.startError = startError;
    handlers.exited(exit);
  });
  return {
    send(message: ClientMessage) {
      if (!child.connected) return;
      child.send(message, (error) => {
        if (error) log(`could not send to the engine: ${error.message}`, 'stderr');
      });
    },
    kill() {
      child.kill();
    },
  };
}
