import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.map': 'application/json', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.ico': 'image/x-icon', '.woff2': 'font/woff2', '.woff': 'font/woff',
  '.ttf': 'font/ttf', '.wasm': 'application/wasm', '.txt': 'text/plain; charset=utf-8',
};

/**
 * Serves the renderer bundle in `root`: files by path, index.html for folders and for extension-less paths the
 * single-page app routes itself. Without a built bundle every request gets a 500 page saying how to build it.
 */
export function serveStatic(req: http.IncomingMessage, res: http.ServerResponse, root: string, headers: Record<string, string>): void {
  const send = (status: number, text: string, type = 'text/plain; charset=utf-8') => {
    res.writeHead(status, { ...headers, 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) });
    res.end(req.method === 'HEAD' ? undefined : text);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
  const index = path.join(root, 'index.html');
  if (!isFile(index)) {
    return send(500, `<!doctype html><title>MoTE Studio</title><h1>The MoTE Studio UI is not built</h1>
<p>${escapeHtml(index)} does not exist. Build the renderer with <code>npm run build:renderer</code>, then reload this page.</p>\n`, TYPES['.html']);
  }
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
  } catch {
    return send(400, 'malformed path\n');
  }
  const file = path.resolve(root, `.${pathname}`);
  if (pathname.includes('\0') || (file !== root && !file.startsWith(root + path.sep))) return send(403, 'outside the UI folder\n');
  let target = isFile(file) ? file : path.join(file, 'index.html');
  if (!isFile(target)) {
    if (path.extname(pathname)) return send(404, 'not found\n');
    target = index;
  }
  const type = TYPES[path.extname(target).toLowerCase()] ?? 'application/octet-stream';
  res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': fs.statSync(target).size, 'Cache-Control': 'no-cache' });
  if (req.method === 'HEAD') return void res.end();
  fs.createReadStream(target).on('error', () => res.destroy()).pipe(res);
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
