import type { EngineClient, EngineStatus } from './engine-client.ts';
import type { MoteEnginePreload } from './preload-api.ts';
import { RpcChannel } from './rpc-channel.ts';

/** Desktop: messages go through the preload's `window.moteEngine`; the main process relays them to the engine. */
export class ElectronEngineClient implements EngineClient {
  private readonly rpc: RpcChannel;
  private status: EngineStatus = 'disconnected';
  private readonly statusListeners = new Set<(s: EngineStatus) => void>();

  constructor(preload: MoteEnginePreload) {
    this.rpc = new RpcChannel((msg) => preload.send(msg));
    preload.onMessage((msg) => this.rpc.receive(msg));
    preload.onStatus((s) => {
      this.status = s;
      this.rpc.setOpen(s === 'connected');
      this.statusListeners.forEach((cb) => cb(s));
    });
  }

  call: EngineClient['call'] = (method, params, onEvent) => this.rpc.call(method, params, onEvent);

  onEngineEvent: EngineClient['onEngineEvent'] = (cb) => this.rpc.onEngineEvent(cb);

  onStatus(cb: (s: EngineStatus) => void): () => void {
    this.statusListeners.add(cb);
    cb(this.status);
    return () => this.statusListeners.delete(cb);
  }
}
