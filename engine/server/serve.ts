import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import type { EngineHost, Emit } from '../host/engine-host.ts';
import { AccessGate } from './access.ts';
import { sendOpenAIError, type OpenAIEndpoint } from './openai/endpoint.ts';
import { OpenAIError } from './openai/responses.ts';
import { serveStatic } from './static-files.ts';

export interface ServerOptions {
  host: EngineHost;
  /** Folder of the built renderer bundle (index.html and its assets). */
  staticDir: string;
  /** 0 = any free port. */
  port: number;
  /** Default: 24 random bytes, hex. */
  token?: string;
  log?: (line: string) => void;
  /** The OpenAI-compatible API under /v1 (switched on and off by its `enabled`); absent, /v1 answers 404. */
  openai?: OpenAIEndpoint;
  /** Serve the UI and the engine protocol (default true); false serves only the OpenAI-compatible API. */
  ui?: boolean;
}

export interface RunningServer {
  /** http://127.0.0.1:PORT/?token=TOKEN */
  url: string;
  port: number;
  token: string;
  /** Base URL of the OpenAI-compatible API: http://127.0.0.1:PORT/v1 */
  apiBase: string;
  close(): Promise<void>;
}

/**
 * The largest request is mask.import: 16 Mi characters of JSON (engine/protocol/methods.ts), up to 3 bytes each in
 * UTF-8; a frame carries it with the envelope.
 */
const MAX_FRAME_BYTES = 64 * 2 ** 20;
const CLOSE_GRACE_MS = 1000;

const SECURITY_HEADERS = { 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY', 'Referrer-Policy': 'no-referrer' };

/**
 * The Content-Security-Policy of every response: scripts, styles, fonts and images from this server only (the built
 * renderer has no inline script or style; images may also be data: and blob: URLs, for the favicon and exported
 * charts), connections only to the page's own origin and its WebSocket (`host`: the Host the request came to, one of
 * our own; null refuses every connection), and no plugins, frames, forms or <base>. Applies on top of the <meta> policy
 * in the renderer's index.html, which also serves the Electron build.
 */
export function contentSecurityPolicy(host: string | null): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src ${host ? `'self' ws://${host}` : "'none'"}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * Browser mode (DESIGN §3): the renderer bundle over HTTP and the engine protocol over a WebSocket at /ws (one JSON
 * ClientMessage or EngineMessage per text frame), on 127.0.0.1 only, behind a random access token.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const token = options.token ?? crypto.randomBytes(24).toString('hex');
  const root = path.resolve(options.staticDir);
  const log = options.log ?? (() => undefined);
  const server = http.createServer();
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const gate = new AccessGate(token, port);
  const ownHosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  const securityHeaders = (req: http.IncomingMessage) => ({
    ...SECURITY_HEADERS,
    'Content-Security-Policy': contentSecurityPolicy(ownHosts.find((h) => h === req.headers.host) ?? null),
  });

  const ui = options.ui ?? true;
  server.on('request', (req, res) => {
    const headers = securityHeaders(req);
    const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (pathname === '/v1' || pathname.startsWith('/v1/')) return serveOpenAI(req, res, gate, options.openai);
    if (!ui) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('this server serves only the OpenAI-compatible API, under /v1\n');
      return;
    }
    const refused = gate.check(req, false);
    if (refused) {
      res.writeHead(refused.status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`${refused.reason}\n`);
      return;
    }
    const cookie = gate.cookieFor(req);
    serveStatic(req, res, root, cookie ? { ...headers, 'Set-Cookie': cookie } : headers);
  });

  server.on('upgrade', (req, socket, head) => {
    const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const refused = pathname === '/ws' && ui ? gate.check(req, true) : { status: 404 as const, reason: 'no WebSocket endpoint here; use /ws' };
    if (refused) {
      log(`refused a WebSocket upgrade: ${refused.reason}`);
      const headers = Object.entries({ ...securityHeaders(req), Connection: 'close', 'Content-Type': 'text/plain' }).map(([name, value]) => `${name}: ${value}\r\n`).join('');
      socket.end(`HTTP/1.1 ${refused.status} ${http.STATUS_CODES[refused.status]}\r\n${headers}\r\n${refused.reason}\n`);
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => connect(ws, options.host, log));
  });

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    apiBase: `http://127.0.0.1:${port}/v1`,
    async close() {
      const closed = [...sockets.clients].map((ws) => new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1001, 'server shutting down');
        setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
      }));
      await Promise.all(closed);
      sockets.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** A request under /v1: refused as the OpenAI API refuses (JSON error, 401 without the bearer token), else the endpoint's. */
function serveOpenAI(req: http.IncomingMessage, res: http.ServerResponse, gate: AccessGate, endpoint: OpenAIEndpoint | undefined): void {
  const refused = gate.checkBearer(req);
  if (refused) {
    const code = refused.status === 401 ? 'invalid_api_key' : 'forbidden';
    return sendOpenAIError(req, res, new OpenAIError(refused.status, refused.reason, 'invalid_request_error', code));
  }
  if (!endpoint?.enabled) {
    return sendOpenAIError(req, res, new OpenAIError(404, 'the OpenAI-compatible endpoint is off: start `mote serve --openai`, or switch it on in the app',
      'invalid_request_error', 'endpoint_off'));
  }
  endpoint.handle(req, res);
}

/** One browser tab: its requests go to the shared host; its jobs are cancelled when it goes away. */
function connect(ws: WebSocket, host: EngineHost, log: (line: string) => void): void {
  const emit: Emit = (message) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  };
  ws.on('message', (data, isBinary) => {
    if (isBinary) emit({ id: -1, ok: false, error: { code: 'bad-request', message: 'messages are JSON in text frames' } });
    else host.handleText(data.toString(), emit);
  });
  ws.on('close', () => host.cancelJobsOf(emit));
  ws.on('error', (err) => log(`WebSocket error: ${err.message}`));
}
