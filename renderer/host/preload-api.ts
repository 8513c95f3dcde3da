import type { ClientMessage, EngineMessage } from '../../engine/protocol/messages.ts';

/** Engine connection as the Electron main process reports it. */
export type EngineStatus = 'connected' | 'disconnected' | 'restarting';

/**
 * The one global the Electron preload exposes (contextBridge.exposeInMainWorld('moteEngine', api)).
 * Messages are the protocol's own objects (engine/protocol/messages.ts), passed through unchanged in both directions:
 * the preload neither parses, renumbers nor filters them. Request ids are chosen by the renderer and are unique per
 * window; cancellation is the `{cancel: id}` message.
 */
export interface MoteEnginePreload {
  /** Sends one request or cancel message to the engine process. */
  send(msg: ClientMessage): void;
  /** Subscribes to every message from the engine (responses and events). Returns the unsubscribe function. */
  onMessage(cb: (msg: EngineMessage) => void): () => void;
  /**
   * Subscribes to the engine process's state. Must call `cb` once right away with the current state, then on every
   * change: 'restarting' when the engine process exited and a new one is being started (requests in flight are lost),
   * 'connected' once the new one accepts messages, 'disconnected' when it will not be restarted.
   * Returns the unsubscribe function.
   */
  onStatus(cb: (status: EngineStatus) => void): () => void;
  /**
   * Asks where to save a text file (native save dialog, `name` as the suggested file name) and writes `content` as
   * UTF-8. Resolves to the chosen path, or null when the user cancelled. Binary files (PNG) do not use this: the
   * renderer downloads them through a Blob link, which Electron turns into its own save dialog.
   */
  saveFile?(name: string, content: string): Promise<string | null>;
  /** Native folder picker for a checkpoint folder; resolves to the absolute path, or null when cancelled. */
  openFolder?(): Promise<string | null>;
}

declare global {
  interface Window {
    moteEngine?: MoteEnginePreload;
  }
}
