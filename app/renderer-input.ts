import type { ClientMessage } from '../engine/protocol/messages.ts';

const MAX_METHOD_LENGTH = 100;
const MAX_FILE_NAME_LENGTH = 255;
/** UTF-16 code units; exports (bundles, rankings CSV) stay far below. */
const MAX_SAVE_CONTENT_LENGTH = 256 * 1024 * 1024;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function hasOnlyKeys(value: Record<string, unknown>, allowed: readonly string[]): boolean {
  return Object.keys(value).every((key) => allowed.includes(key));
}

function isRequestId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * What the renderer sent, as a ClientMessage rebuilt from the known keys, or null to drop it. Only the shape is
 * checked here; the engine validates params against the method's schema.
 */
export function toClientMessage(value: unknown): ClientMessage | null {
  if (!isPlainObject(value)) return null;
  if ('cancel' in value) {
    return hasOnlyKeys(value, ['cancel']) && isRequestId(value.cancel) ? { cancel: value.cancel } : null;
  }
  const { id, method, params } = value;
  if (!hasOnlyKeys(value, ['id', 'method', 'params']) || !isRequestId(id)) return null;
  if (typeof method !== 'string' || method.length === 0 || method.length > MAX_METHOD_LENGTH) return null;
  // The engine's schemas type the method; main only relays it.
  return { id, method, params } as ClientMessage;
}

export interface SaveFileRequest {
  /** A bare file name offered in the save dialog, never a path. */
  name: string;
  content: string;
}

/** The arguments of saveFile(name, content), or null when they are not a bare file name and a string. */
export function toSaveFileRequest(args: readonly unknown[]): SaveFileRequest | null {
  const [name, content] = args;
  if (args.length !== 2 || typeof name !== 'string' || typeof content !== 'string') return null;
  if (name.length === 0 || name.length > MAX_FILE_NAME_LENGTH || name === '.' || name === '..') return null;
  if (/[/\\\0]/.test(name) || content.length > MAX_SAVE_CONTENT_LENGTH) return null;
  return { name, content };
}
