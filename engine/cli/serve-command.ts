import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { EngineHost } from '../host/engine-host.ts';
import { hostOptions } from '../host/host-options.ts';
import { callHost } from '../host/local-client.ts';
import { openBrowser } from '../server/open-browser.ts';
import { startServer } from '../server/serve.ts';
import { modelOptions, type ModelOpenOptions } from './open-model.ts';
import { progressReporter } from './progress.ts';

const DEFAULT_STATIC = fileURLToPath(new URL('../../dist/renderer', import.meta.url));

interface ServeOptions extends ModelOpenOptions {
  port: number;
  open?: boolean;
  model?: string;
  db?: string;
  static: string;
}

export function registerServeCommand(program: Command): void {
  modelOptions(program
    .command('serve')
    .description('browser mode: serve the MoTE Studio UI and its engine on 127.0.0.1 for a web browser, behind a random access token')
    .option('--port <p>', 'port on 127.0.0.1 (0 = any free port)', portArg, 0)
    .option('--open', 'open the UI in the default browser (through a redirect page only you can read: the token never goes on a command line)')
    .option('--model <dir>', 'checkpoint folder to load before serving (otherwise the UI opens one)')
    .option('--db <file>', 'SQLite file runs are recorded in (default: as for `mote probe run`)')
    .option('--static <dir>', 'built renderer bundle to serve', DEFAULT_STATIC))
    .addHelpText('after', `
Browser mode prints http://127.0.0.1:PORT/?token=TOKEN as the first line of its output: open it in a browser.
Requests without the token are refused. The UI is the renderer bundle (build it with \`npm run build:renderer\`);
probe sets come from MOTE_PROBES_DIR, the demo model from MOTE_DEMO_MODEL, graphs are cached in MOTE_CACHE_DIR.
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
  const server = await startServer({ host, staticDir: opts.static, port: opts.port, log, token });
  process.stdout.write(`${server.url}\n`);
  if (!fs.existsSync(path.join(opts.static, 'index.html'))) log(`no UI bundle in ${path.resolve(opts.static)}: run \`npm run build:renderer\``);
  log('browser mode; the URL above carries the access token. Ctrl-C to stop');
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
