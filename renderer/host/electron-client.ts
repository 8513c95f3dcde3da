import type { MoteEnginePreload } from './preload-api.ts';
import { RpcEngineClient } from './rpc-engine-client.ts';

/** Desktop: messages go through the preload's `window.moteEngine`; the main process relays them to the engine. */
export class ElectronEngineClient extends RpcEngineClient {
  constructor(preload: MoteEnginePreload) {
    super((msg) => preload.send(msg));
    preload.onMessage((msg) => this.rpc.receive(msg));
    preload.onStatus((s) => this.setStatus(s));
  }
}
