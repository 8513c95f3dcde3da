import type { ClientMessage, EngineMessage } from '../../engine/protocol/messages.ts';
import type { EngineClient, EngineStatus } from './engine-client.ts';
import { RpcChannel } from './rpc-channel.ts';

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 2000;

/** `mote serve`'s socket on the page's own host; the access token comes from the page URL (?token=…). */
export function engineSocketUrl(loc: Location): string {
  const token = new URLSearchParams(loc.search).get('token') ?? '';
  const scheme = loc.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${loc.host}/ws?token=${encodeURIComponent(token)}`;
}

/** Browser mode: JSON messages over one WebSocket, reconnecting with backoff whenever it closes. */
export class WebSocketEngineClient implements EngineClient {
  private socket: WebSocket | null = null;
  private status: EngineStatus = 'disconnected';
  private readonly statusListeners = new Set<(s: EngineStatus) => void>();
  private retryMs = RETRY_MIN_MS;
  private readonly rpc = new RpcChannel((msg: ClientMessage) => this.socket?.send(JSON.stringify(msg)));

  constructor(private readonly url: string) {
    this.connect();
  }

  call: EngineClient['call'] = (method, params, onEvent) => this.rpc.call(method, params, onEvent);

  onEngineEvent: EngineClient['onEngineEvent'] = (cb) => this.rpc.onEngineEvent(cb);

  onStatus(cb: (s: EngineStatus) => void): () => void {
    this.statusListeners.add(cb);
    cb(this.status);
    return () => this.statusListeners.delete(cb);
  }

  private connect(): void {
    const ws = new WebSocket(this.url);
    ws.onopen = () => {
      this.socket = ws;
      this.retryMs = RETRY_MIN_MS;
      this.rpc.setOpen(true);
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
      this.rpc.setOpen(false);
      this.setStatus('disconnected');
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    };
  }

  private setStatus(s: EngineStatus): void {
    if (s === this.status) return;
    this.status = s;
    this.statusListeners.forEach((cb) => cb(s));
  }
}
