import { spawn } from 'node:child_process';

/** Opens `url` in the default browser; a failure is only reported through `log`. */
export function openBrowser(url: string, log: (line: string) => void): void {
  const [command, args] = process.platform === 'darwin' ? ['open', [url]]
    : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]]
    : ['xdg-open', [url]];
  const failed = (why: string) => log(`could not open a browser (${command}: ${why}); open the URL above yourself`);
  const child = spawn(command, args, { stdio: 'ignore', detached: true, windowsVerbatimArguments: true });
  child.on('error', (err) => failed(err.message));
  child.on('exit', (code) => {
    if (code) failed(`exit code ${code}`);
  });
  child.unref();
}
