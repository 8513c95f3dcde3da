import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import type { EngineHost, Emit } from '../host/engine-host.ts';
import { AccessGate } from './access.ts';
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
}

export interface RunningServer {
  /** http://127.0.0.1:PORT/?token=TOKEN */
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

/** mask.import accepts 50 MB of JSON; a frame carries it with room for the envelope. */
const MAX_FRAME_BYTES = 64 * 2 ** 20;
const CLOSE_GRACE_MS = 1000;

const SECURITY_HEADERS = { 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY', 'Referrer-Policy': 'no-referrer' };

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

  server.on('request', (req, res) => {
    const refused = gate.check(req, false);
    if (refused) {
      res.writeHead(refused.status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`${refused.reason}\n`);
      return;
    }
    const cookie = gate.cookieFor(req);
    serveStatic(req, res, root, cookie ? { ...SECURITY_HEADERS, 'Set-Cookie': cookie } : SECURITY_HEADERS);
  });

  server.on('upgrade', (req, socket, head) => {
    const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const refused = pathname === '/ws' ? gate.check(req, true) : { status: 404 as const, reason: 'no WebSocket endpoint here; use /ws' };
    if (refused) {
      log(`refused a WebSocket upgrade: ${refused.reason}`);
      socket.end(`HTTP/1.1 ${refused.status} ${http.STATUS_CODES[refused.status]}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${refused.reason}\n`);
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => connect(ws, options.host, log));
  });

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
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
