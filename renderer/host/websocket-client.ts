import type { ClientMessage, EngineMessage } from '../../engine/protocol/messages.ts';
import type { ConnectionLoss } from './engine-client.ts';
import { RpcEngineClient } from './rpc-engine-client.ts';

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5000;
/** The close code `mote serve` sends when it shuts down (engine/server/serve.ts): 1001, going away. */
const SERVER_SHUTDOWN = 1001;

/** `mote serve`'s socket on the page's own host; the access token comes from the page URL (?token=…). */
export function engineSocketUrl(loc: Location): string {
  const token = new URLSearchParams(loc.search).get('token') ?? '';
  const scheme = loc.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${loc.host}/ws?token=${encodeURIComponent(token)}`;
}

/**
 * Browser mode: JSON messages over one WebSocket. `mote serve` runs the engine in its own process, so the engine
 * stopping is the socket closing; nothing restarts it but the user. The client keeps trying to reconnect with backoff
 * (up to every 5 s) and reports why it is down: the server shut down, the connection broke (killed, crashed), or a
 * server is back at this address with another access token (then reconnecting cannot succeed by itself).
 */
export class WebSocketEngineClient extends RpcEngineClient {
  private socket: WebSocket | null = null;
  private retryMs = RETRY_MIN_MS;
  private loss: ConnectionLoss | null = null;

  constructor(private readonly url: string, private readonly pageUrl: string) {
    super((msg: ClientMessage) => this.socket?.send(JSON.stringify(msg)));
    this.connect();
  }

  private connect(): void {
    const ws = new WebSocket(this.url);
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.socket = ws;
      this.retryMs = RETRY_MIN_MS;
      this.setLoss(null);
      this.setStatus('connected');
    };
    ws.onmessage = (e) => {
      if (typeof e.data !== 'string') return;
      let msg: EngineMessage;
      try {
        msg = JSON.parse(e.data) as EngineMessage;
      } catch {
        console.error('engine sent a message that is not JSON:', e.data.slice(0, 200));
        return;
      }
      this.rpc.receive(msg);
    };
    ws.onclose = (e) => {
      this.socket = null;
      if (opened) {
        this.setLoss({ cause: e.code === SERVER_SHUTDOWN ? 'server-stopped' : 'connection-lost', code: e.code, attempts: 0, tokenRefused: false });
      } else if (this.loss) {
        this.setLoss({ ...this.loss, attempts: this.loss.attempts + 1 });
        void this.checkToken();
      }
      this.setStatus('disconnected');
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    };
  }

  /** A refused reconnect: is a server answering here, but refusing this page's token (a restarted `mote serve`)? */
  private async checkToken(): Promise<void> {
    let refused = false;
    try {
      refused = (await fetch(this.pageUrl, { cache: 'no-store' })).status === 401;
    } catch {
      // Nothing answers: the server is still down.
    }
    if (this.loss && this.loss.tokenRefused !== refused) this.setLoss({ ...this.loss, tokenRefused: refused });
  }

  private setLoss(loss: ConnectionLoss | null): void {
    this.loss = loss;
    this.lossListeners.forEach((cb) => cb(loss));
  }
}
