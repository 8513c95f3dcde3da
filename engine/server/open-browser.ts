import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface OpenBrowserOptions {
  /** Folder the redirect page's private folder is made in (default: the OS temporary folder). */
  tmpDir?: string;
  /** The command that opens `target` (a file) in the default browser; default: open, cmd /c start, or xdg-open. */
  command?: (target: string) => [command: string, args: string[]];
  /** How long the redirect page is kept for the browser to load it (default 60 s; it also goes when the process exits). */
  keepMs?: number;
}

export interface OpenedBrowser {
  /** The redirect page handed to the browser. */
  file: string;
  /** Removes the redirect page and its folder now. */
  remove(): void;
}

const KEEP_MS = 60_000;

/**
 * Opens `url` in the default browser without putting it on a command line: the URL carries the access token, and
 * every user of the machine can read every process's arguments (ps, /proc/PID/cmdline), those of the opener and
 * of a browser it starts. The browser is handed a redirect page instead, written where only this user can read it
 * (a new 0700 folder, a 0600 file), which sends it on to `url`; other users see only the page's path. The page is
 * removed once the browser has had time to load it, and when the process exits. Failures are only reported
 * through `log`, as before: the URL printed on the terminal still works.
 *
 * A browser that cannot read the user's temporary folder (a snap-confined one has its own /tmp) shows "file not
 * found" instead of the UI; the message says to open the printed URL then.
 */
export function openBrowser(url: string, log: (line: string) => void, options: OpenBrowserOptions = {}): OpenedBrowser | null {
  let dir: string;
  let file: string;
  try {
    dir = fs.mkdtempSync(path.join(options.tmpDir ?? os.tmpdir(), 'mote-open-'));
    fs.chmodSync(dir, 0o700);
    file = path.join(dir, 'open-mote-studio.html');
    fs.writeFileSync(file, redirectPage(url), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    log(`could not open a browser (cannot write its redirect page: ${(err as Error).message}); open the URL above yourself`);
    return null;
  }
  const remove = () => {
    clearTimeout(timer);
    process.off('exit', remove);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const timer = setTimeout(remove, options.keepMs ?? KEEP_MS);
  timer.unref();
  process.once('exit', remove);

  const [command, args] = (options.command ?? defaultCommand)(file);
  const failed = (why: string) => log(`could not open a browser (${command}: ${why}); open the URL above yourself`);
  const child = spawn(command, args, { stdio: 'ignore', detached: true, windowsVerbatimArguments: true });
  child.on('error', (err) => failed(err.message));
  child.on('exit', (code) => {
    if (code) failed(`exit code ${code}`);
  });
  child.unref();
  log(`opening the UI in the default browser through ${file} (readable only by you); if it shows no page, open the URL above`);
  return { file, remove };
}

function defaultCommand(file: string): [string, string[]] {
  if (process.platform === 'darwin') return ['open', [file]];
  // With windowsVerbatimArguments the arguments are joined as they are: quote the path, which may hold spaces.
  if (process.platform === 'win32') return ['cmd', ['/c', 'start', '""', `"${file}"`]];
  return ['xdg-open', [file]];
}

/** A page that forwards to `url` at once, without a script (a meta refresh) and without a Referer. */
export function redirectPage(url: string): string {
  const href = escapeHtml(url);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0;url=${href}">
<title>MoTE Studio</title>
</head>
<body>
<p>Opening MoTE Studio… If nothing happens, <a href="${href}">open it here</a>.</p>
</body>
</html>
`;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
