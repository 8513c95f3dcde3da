import type { ClientMessage } from '../../engine/protocol/messages.ts';
import type { ConnectionLoss, EngineClient, EngineStatus } from './engine-client.ts';
import { RpcChannel } from './rpc-channel.ts';

/** What both transports share: the request channel and the connection status with its listeners. */
export abstract class RpcEngineClient implements EngineClient {
  protected readonly rpc: RpcChannel;
  private status: EngineStatus = 'disconnected';
  private readonly statusListeners = new Set<(s: EngineStatus) => void>();
  protected readonly lossListeners = new Set<(loss: ConnectionLoss | null) => void>();

  protected constructor(send: (msg: ClientMessage) => void) {
    this.rpc = new RpcChannel(send);
  }

  call: EngineClient['call'] = (method, params, onEvent) => this.rpc.call(method, params, onEvent);

  onEngineEvent: EngineClient['onEngineEvent'] = (cb) => this.rpc.onEngineEvent(cb);

  onConnectionLoss(cb: (loss: ConnectionLoss | null) => void): () => void {
    this.lossListeners.add(cb);
    return () => this.lossListeners.delete(cb);
  }

  onStatus(cb: (s: EngineStatus) => void): () => void {
    this.statusListeners.add(cb);
    cb(this.status);
    return () => this.statusListeners.delete(cb);
  }

  /** Requests go out only while connected; a status change is announced once. */
  protected setStatus(s: EngineStatus): void {
    this.rpc.setOpen(s === 'connected');
    if (s === this.status) return;
    this.status = s;
    this.statusListeners.forEach((cb) => cb(s));
  }
}
