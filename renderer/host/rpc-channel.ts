import type { ClientMessage, EngineMessage } from '../../engine/protocol/messages.ts';
import type { Method, MethodParams, MethodResult } from '../../engine/protocol/methods.ts';
import { EngineError, type CallHandle, type EngineEvent } from './engine-client.ts';

interface Pending {
  method: Method;
  resolve(result: unknown): void;
  reject(err: Error): void;
  onEvent?: (event: EngineEvent) => void;
  sent: boolean;
}

/**
 * Request/response bookkeeping shared by both transports: ids, event routing, cancellation over the wire, errors
 * rethrown as EngineError. Requests made before the transport first opens wait and go out when it does; once it has
 * been open, requests made while it is down fail at once (nobody knows when, or whether, the engine comes back), and
 * requests already sent when it drops are rejected, since the engine that had them is gone.
 */
export class RpcChannel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private queue: ClientMessage[] = [];
  private open = false;
  private wasOpen = false;
  private readonly engineListeners = new Set<(event: EngineEvent) => void>();

  constructor(private readonly transmit: (msg: ClientMessage) => void) {}

  call<M extends Method>(method: M, params: MethodParams<M>, onEvent?: (event: EngineEvent) => void): CallHandle<M> {
    const id = this.nextId++;
    const result = new Promise<MethodResult<M>>((resolve, reject) => {
      this.pending.set(id, { method, resolve: resolve as (r: unknown) => void, reject, onEvent, sent: false });
    });
    if (!this.open && this.wasOpen) {
      this.pending.get(id)!.reject(new EngineError(method, 'disconnected', 'not connected to the engine; nothing was sent'));
      this.pending.delete(id);
    } else {
      this.post({ id, method, params });
    }
    const cancel = () => {
      const p = this.pending.get(id);
      if (!p) return;
      if (p.sent) return this.post({ cancel: id });
      this.queue = this.queue.filter((m) => !('id' in m && m.id === id));
      this.pending.delete(id);
      p.reject(new EngineError(method, 'cancelled', 'cancelled before it was sent'));
    };
    return { result, cancel };
  }

  onEngineEvent(cb: (event: EngineEvent) => void): () => void {
    this.engineListeners.add(cb);
    return () => this.engineListeners.delete(cb);
  }

  receive(msg: EngineMessage): void {
    if ('event' in msg) {
      const event = { name: msg.event, data: msg.data } as EngineEvent;
      if (msg.id === undefined) this.engineListeners.forEach((cb) => cb(event));
      else this.pending.get(msg.id)?.onEvent?.(event);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new EngineError(p.method, msg.error.code, msg.error.message));
  }

  setOpen(open: boolean): void {
    this.open = open;
    this.wasOpen ||= open;
    if (!open) {
      for (const [id, p] of this.pending) {
        if (!p.sent) continue;
        this.pending.delete(id);
        p.reject(new EngineError(p.method, 'disconnected', 'the engine stopped before answering'));
      }
      return;
    }
    const queued = this.queue;
    this.queue = [];
    queued.forEach((m) => this.post(m));
  }

  private post(msg: ClientMessage): void {
    if (!this.open) {
      if ('id' in msg) this.queue.push(msg);
      return;
    }
    if ('id' in msg) this.pending.get(msg.id)!.sent = true;
    this.transmit(msg);
  }
}
