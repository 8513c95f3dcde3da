import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { EngineHost } from '../host/engine-host.ts';
import { hostOptions } from '../host/host-options.ts';
import { callHost } from '../host/local-client.ts';
import { openBrowser } from '../server/open-browser.ts';
import { pageServerControl } from '../server/openai/control.ts';
import { DEFAULT_MAX_WAITING, OpenAIEndpoint } from '../server/openai/endpoint.ts';
import { startServer } from '../server/serve.ts';
import { defaultMasksDir } from '../store/default-location.ts';
import { intArg } from './arguments.ts';
import { modelOptions, type ModelOpenOptions } from './open-model.ts';
import { progressReporter } from './progress.ts';

const DEFAULT_STATIC = fileURLToPath(new URL('../../dist/renderer', import.meta.url));

interface ServeOptions extends ModelOpenOptions {
  port: number;
  open?: boolean;
  model?: string;
  db?: string;
  static: string;
  openai?: boolean;
  masks?: string;
  openaiQueue: number;
  ui: boolean;
}

export function registerServeCommand(program: Command): void {
  modelOptions(program
    .command('serve')
    .description('browser mode: serve the MoTE Studio UI and its engine on 127.0.0.1 for a web browser, behind a random access token')
    .option('--port <p>', 'port on 127.0.0.1 (0 = any free port)', portArg, 0)
    .option('--open', 'open the UI in the default browser (through a redirect page only you can read: the token never goes on a command line)')
    .option('--model <dir>', 'checkpoint folder to load before serving (otherwise the UI opens one)')
    .option('--db <file>', 'SQLite file runs are recorded in (default: as for `mote probe run`)')
    .option('--static <dir>', 'built renderer bundle to serve', DEFAULT_STATIC)
    .option('--openai', 'also serve an OpenAI-compatible API under /v1 (chat and text completions, streamed or not) on the loaded model')
    .option('--masks <dir>', 'saved masks (NAME.json, mote-mask format) the API serves as model names MODEL+NAME (default: masks/ in the data folder)')
    .option('--openai-queue <n>', 'API requests that may wait while one runs; more are refused with 429', intArg('--openai-queue'), DEFAULT_MAX_WAITING)
    .option('--no-ui', 'serve only the OpenAI-compatible API (with --openai), not the UI'))
    .addHelpText('after', `
Browser mode prints http://127.0.0.1:PORT/?token=TOKEN as the first line of its output: open it in a browser.
Requests without the token are refused. The UI is the renderer bundle (build it with \`npm run build:renderer\`);
probe sets come from MOTE_PROBES_DIR, the demo model from MOTE_DEMO_MODEL, graphs are cached in MOTE_CACHE_DIR.

With --openai, the OpenAI-compatible API is at http://127.0.0.1:PORT/v1 (also printed as OPENAI_BASE_URL=… and
OPENAI_API_KEY=…, the variables OpenAI's clients read); its API key is the access token. GET /v1/models lists the
loaded model (its folder's name, e.g. "demo") and, for each saved mask that fits it, MODEL+NAME: the model steered by
that mask (or send "mote_mask": "NAME"). POST /v1/chat/completions (the model's chat template) and /v1/completions take
temperature, top_p, top_k, max_tokens, stop, seed and stream. Requests run one at a time; past --openai-queue waiting
ones the API answers 429.
Stop with Ctrl-C. To restart it at the same address, so that open pages reconnect by themselves, give the same
--port and set MOTE_SERVE_TOKEN to the token (16–256 letters, digits, - or _) in both runs.`)
    .action(runServe);
}

function portArg(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('--port must be an integer in 0…65535');
  return port;
}

/** MOTE_SERVE_TOKEN: a fixed access token, so a restarted server keeps its address (from the environment, never argv). */
function tokenFromEnv(): string | undefined {
  const token = process.env.MOTE_SERVE_TOKEN;
  if (token === undefined || token === '') return undefined;
  if (!/^[A-Za-z0-9_-]{16,256}$/.test(token)) throw new Error('MOTE_SERVE_TOKEN must be 16–256 letters, digits, - or _');
  return token;
}

async function runServe(opts: ServeOptions): Promise<void> {
  if (!opts.ui && !opts.openai) throw new Error('--no-ui serves only the OpenAI-compatible API: add --openai');
  const token = tokenFromEnv();
  const log = (line: string) => process.stderr.write(`mote serve: ${line}\n`);
  const host = new EngineHost(hostOptions({ db: opts.db, threads: opts.threads }));
  if (opts.model) {
    const report = progressReporter('building graph');
    try {
      const info = await callHost(host, 'model.open', { dir: opts.model, precision: opts.precision, context: opts.context }, (e) => {
        if (e.event === 'build.progress') report(e.data.done, e.data.total, 'layers');
      });
      log(`loaded ${info.architecture} from ${info.folder} at ${info.precision}, context ${info.contextLength} tokens`);
    } catch (err) {
      await host.dispose();
      throw err;
    }
  }
  // Always there, so the app can switch it on; off unless --openai.
  const openai = new OpenAIEndpoint({ engine: host, masksDir: path.resolve(opts.masks ?? defaultMasksDir()), maxWaiting: opts.openaiQueue, log });
  openai.enabled = opts.openai === true;
  const server = await startServer({ host, staticDir: opts.static, port: opts.port, log, openai, ui: opts.ui, token });
  host.setOpenAIControl(pageServerControl(openai, server));
  if (opts.ui) process.stdout.write(`${server.url}\n`);
  if (opts.openai) process.stdout.write(`OPENAI_BASE_URL=${server.apiBase}\nOPENAI_API_KEY=${server.token}\n`);
  if (opts.ui && !fs.existsSync(path.join(opts.static, 'index.html'))) log(`no UI bundle in ${path.resolve(opts.static)}: run \`npm run build:renderer\``);
  if (opts.openai) log(`OpenAI-compatible API at ${server.apiBase} (API key: the access token); saved masks from ${openai.masks.dir}`);
  log(opts.ui ? 'browser mode; the URL above carries the access token. Ctrl-C to stop' : 'Ctrl-C to stop');
  if (opts.open) openBrowser(server.url, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return process.exit(130);
    stopping = true;
    log(`${signal}: shutting down`);
    server.close().then(() => host.dispose()).catch((err: Error) => log(err.message)).finally(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
