import type { ClientMessage, EngineMessage } from '../../engine/protocol/messages.ts';
import { RpcEngineClient } from './rpc-engine-client.ts';

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 2000;

/** `mote serve`'s socket on the page's own host; the access token comes from the page URL (?token=…). */
export function engineSocketUrl(loc: Location): string {
  const token = new URLSearchParams(loc.search).get('token') ?? '';
  const scheme = loc.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${loc.host}/ws?token=${encodeURIComponent(token)}`;
}

/** Browser mode: JSON messages over one WebSocket, reconnecting with backoff whenever it closes. */
export class WebSocketEngineClient extends RpcEngineClient {
  private socket: WebSocket | null = null;
  private retryMs = RETRY_MIN_MS;

  constructor(private readonly url: string) {
    super((msg: ClientMessage) => this.socket?.send(JSON.stringify(msg)));
    this.connect();
  }

  private connect(): void {
    const ws = new WebSocket(this.url);
    ws.onopen = () => {
      this.socket = ws;
      this.retryMs = RETRY_MIN_MS;
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
    ws.onclose = () => {
      this.socket = null;
      this.setStatus('disconnected');
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    };
  }
}
