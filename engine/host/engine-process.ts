/**
 * The engine as a process of its own (DESIGN §3): started with an IPC channel, e.g. from Electron's main process
 *   child_process.fork('engine/host/engine-process.ts', [...flags], { execArgv: ['--import', 'tsx'] })
 * it reads ClientMessages from process.on('message') and answers with process.send. Options come from flags
 * (--demo-model DIR, --probes DIR, --db FILE, --cache DIR, --threads N), else MOTE_DEMO_MODEL, MOTE_PROBES_DIR,
 * MOTE_DB, MOTE_CACHE_DIR. It logs to stderr and exits when the parent disconnects.
 */
import { parseArgs } from 'node:util';
import type { EngineMessage } from '../protocol/messages.ts';
import { ownServerControl } from '../server/openai/control.ts';
import { DEFAULT_MAX_WAITING, OpenAIEndpoint } from '../server/openai/endpoint.ts';
import { defaultMasksDir } from '../store/default-location.ts';
import { EngineHost } from './engine-host.ts';
import { hostOptions } from './host-options.ts';

const log = (line: string) => process.stderr.write(`mote engine: ${line}\n`);

function readOptions() {
  const { values } = parseArgs({
    options: {
      'demo-model': { type: 'string' }, probes: { type: 'string' }, db: { type: 'string' }, cache: { type: 'string' }, threads: { type: 'string' },
    },
  });
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 0)) throw new Error(`--threads must be an integer ≥ 0, got ${values.threads}`);
  return hostOptions({ demoModel: values['demo-model'], probes: values.probes, db: values.db, cache: values.cache, threads });
}

function main(): void {
  if (!process.send) {
    log('start me with an IPC channel (child_process.fork); for a browser, use `mote serve`');
    process.exit(2);
  }
  let options;
  try {
    options = readOptions();
  } catch (err) {
    log((err as Error).message);
    process.exit(2);
  }
  const host = new EngineHost(options);
  // Off until the app switches it on (openai.setEnabled).
  const openai = new OpenAIEndpoint({ engine: host, masksDir: defaultMasksDir(), maxWaiting: DEFAULT_MAX_WAITING, log });
  host.setOpenAIControl(ownServerControl(host, openai, log));
  // The parent may go away while a job still streams events: a failed send is logged, never thrown.
  const send = (message: EngineMessage) => {
    if (!process.connected) return;
    try {
      process.send!(message, undefined, {}, (err) => {
        if (err) log(`send failed: ${err.message}`);
      });
    } catch (err) {
      log(`send failed: ${(err as Error).message}`);
    }
  };
  process.on('message', (message) => host.handle(message, send));
  // A stray rejection (e.g. from onnxruntime during disposal) must not take down the engine and its loaded model.
  process.on('unhandledRejection', (reason) => log(`unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}`));
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`${why}: shutting down`);
    host.dispose().catch((err: Error) => log(`shutdown: ${err.message}`)).finally(() => process.exit(0));
  };
  process.on('disconnect', () => stop('parent disconnected'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  log(`ready (pid ${process.pid}; database ${options.dbFile}; probe sets ${options.probesDir}; demo model ${options.demoModelDir})`);
}

main();
