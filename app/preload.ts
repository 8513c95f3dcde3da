// Sandboxed preload, bundled to dist/app/preload.cjs: the renderer's only way out is window.moteEngine.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { ClientMessage, EngineMessage } from '../engine/protocol/messages.ts';
import { CHANNELS, type EngineStatus } from './ipc-channels.ts';

/** Must match renderer/host/preload-api.ts, which the renderer is typed against. */
export interface MoteEngineApi {
  send(msg: ClientMessage): void;
  onMessage(cb: (msg: EngineMessage) => void): () => void;
  onStatus(cb: (status: EngineStatus) => void): () => void;
  saveFile?(name: string, content: string): Promise<string | null>;
  openFolder?(): Promise<string | null>;
}

function subscribe<T>(channel: string, cb: (payload: T) => void): () => void {
  const listener = (_event: IpcRendererEvent, payload: T) => cb(payload);
  ipcRenderer.on(channel, listener);
  return () => {
    ipcRenderer.removeListener(channel, listener);
  };
}

// Status changes are pushed; the first one the page needs may come before the page subscribes, so keep the latest
// and ask main for it once.
let lastStatus: EngineStatus | null = null;
const statusCallbacks = new Set<(status: EngineStatus) => void>();
function statusChanged(status: EngineStatus): void {
  lastStatus = status;
  statusCallbacks.forEach((cb) => cb(status));
}
ipcRenderer.on(CHANNELS.status, (_event, status: EngineStatus) => statusChanged(status));
void ipcRenderer.invoke(CHANNELS.currentStatus).then((status: EngineStatus | null) => {
  // A pushed change that arrived first is at least as new.
  if (lastStatus === null && status !== null) statusChanged(status);
});

const api: MoteEngineApi = {
  send: (msg) => ipcRenderer.send(CHANNELS.send, msg),
  onMessage: (cb) => subscribe(CHANNELS.message, cb),
  onStatus: (cb) => {
    statusCallbacks.add(cb);
    const known = lastStatus;
    // A microtask runs before any further IPC event, so this never overtakes a newer status.
    if (known !== null) queueMicrotask(() => statusCallbacks.has(cb) && cb(known));
    return () => {
      statusCallbacks.delete(cb);
    };
  },
  saveFile: (name, content) => ipcRenderer.invoke(CHANNELS.saveFile, name, content),
  openFolder: () => ipcRenderer.invoke(CHANNELS.openFolder),
};

contextBridge.exposeInMainWorld('moteEngine', api);
