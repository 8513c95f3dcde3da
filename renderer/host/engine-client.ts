import type { EngineEvents, EventName } from '../../engine/protocol/events.ts';
import type { ProtocolError } from '../../engine/protocol/messages.ts';
import type { Method, MethodParams, MethodResult } from '../../engine/protocol/methods.ts';
import type { EngineStatus } from './preload-api.ts';

export type { EngineStatus };

/** One engine event, discriminated by `name`. */
export type EngineEvent = { [N in EventName]: { name: N; data: EngineEvents[N] } }[EventName];

export interface CallHandle<M extends Method> {
  result: Promise<MethodResult<M>>;
  /** Asks the engine to stop the job; `result` then settles with the engine's own answer (usually a 'cancelled' error). */
  cancel(): void;
}

/** The renderer's only way to the engine; one implementation per host (Electron preload, WebSocket). */
export interface EngineClient {
  /** Sends a request; `onEvent` receives the events the engine tags with this request's id until it answers. */
  call<M extends Method>(method: M, params: MethodParams<M>, onEvent?: (event: EngineEvent) => void): CallHandle<M>;
  /** Events not tied to a request. Returns the unsubscribe function. */
  onEngineEvent(cb: (event: EngineEvent) => void): () => void;
  /** Called with the current status right away, then on every change. Returns the unsubscribe function. */
  onStatus(cb: (status: EngineStatus) => void): () => void;
  /**
   * Browser mode: why the connection to `mote serve` is down (null once it is up again), called on every change.
   * Electron's engine is supervised instead (its status says 'restarting'); there this is never called.
   */
  onConnectionLoss(cb: (loss: ConnectionLoss | null) => void): () => void;
}

/** How browser mode lost its engine, and how reconnecting goes. */
export interface ConnectionLoss {
  /** server-stopped: `mote serve` shut down and closed the connection; connection-lost: it broke without a close. */
  cause: 'server-stopped' | 'connection-lost';
  /** The WebSocket close code (1001 going away, 1006 abnormal). */
  code: number;
  /** Reconnection attempts that failed so far. */
  attempts: number;
  /** A server answers at this address but refuses this page's access token: a new `mote serve` with another token. */
  tokenRefused: boolean;
}

export type EngineErrorCode = ProtocolError['code'] | 'disconnected';

/**
 * An engine error rethrown on this side, message prefixed with the method ("probes.run: no model loaded", for logs);
 * `detail` is the engine's own wording, which is what users are shown.
 */
export class EngineError extends Error {
  constructor(readonly method: string, readonly code: EngineErrorCode, readonly detail: string) {
    super(`${method}: ${detail}`);
    this.name = 'EngineError';
  }
}

export const isCancelled = (err: unknown): boolean => err instanceof EngineError && err.code === 'cancelled';

/** What a user is shown of an error: the engine's own words, without the method name the protocol adds. */
export const errorText = (err: unknown): string => (err instanceof EngineError ? err.detail : err instanceof Error ? err.message : String(err));
