import { z } from 'zod';
import type { EngineEvents, EventName } from './events.ts';
import type { Method, MethodResult } from './methods.ts';

/** Client → engine. */
export type ClientMessage =
  | { id: number; method: Method; params: unknown }
  | { cancel: number };

/** Engine → client. Errors are data: {code, message}; the client rethrows them with the method name in front. */
export type EngineMessage =
  | { id: number; ok: true; result: MethodResult<Method> }
  | { id: number; ok: false; error: ProtocolError }
  | { event: EventName; id?: number; data: EngineEvents[EventName] };

export interface ProtocolError {
  /** bad-request: malformed message or params; not-found; no-model; cancelled; failed: the job itself failed. */
  code: 'bad-request' | 'unknown-method' | 'not-found' | 'no-model' | 'cancelled' | 'failed';
  message: string;
}

export const clientMessageSchema = z.union([
  z.object({ id: z.number().int().min(0), method: z.string(), params: z.unknown() }).strict(),
  z.object({ cancel: z.number().int().min(0) }).strict(),
]);
