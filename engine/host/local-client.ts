import type { EngineEvents, EventName } from '../protocol/events.ts';
import type { ProtocolError } from '../protocol/messages.ts';
import type { Method, MethodParams, MethodResult } from '../protocol/methods.ts';
import type { EngineHost } from './engine-host.ts';

export type HostEvent = { [E in EventName]: { event: E; data: EngineEvents[E] } }[EventName];

/** An error reply, rethrown with the method name in front and the protocol code kept. */
export class CallError extends Error {
  constructor(readonly method: Method, readonly code: ProtocolError['code'], message: string) {
    super(`${method}: ${message}`);
  }
}

/** Calls one method of an in-process host (its own client, so ids never collide); events go to onEvent. */
export function callHost<M extends Method>(host: EngineHost, method: M, params: MethodParams<M>,
  onEvent?: (event: HostEvent) => void): Promise<MethodResult<M>> {
  return new Promise((resolve, reject) => {
    host.handle({ id: 0, method, params }, (message) => {
      if ('event' in message) onEvent?.({ event: message.event, data: message.data } as HostEvent);
      else if (message.ok) resolve(message.result as MethodResult<M>);
      else reject(new CallError(method, message.error.code, message.error.message));
    });
  });
}
