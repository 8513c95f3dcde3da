import path from 'node:path';
import type { ClientMessage, EngineMessage, ProtocolError } from '../engine/protocol/messages.ts';

/** Requests that name a checkpoint folder on the engine's machine in `params.dir`. */
const FOLDER_METHODS: readonly string[] = ['model.open', 'model.estimate'];

/**
 * Folders the user chose in the app's own Open dialogs (the renderer's "Open folder…" and the File menu). The
 * renderer is sandboxed web content: it may ask the engine to open a checkpoint folder only if the user picked it
 * in one of those dialogs during this session, so script in the page (an injected one included) cannot point the
 * engine at arbitrary paths. Probe-set files need no list here: the engine reads them only from its probes and
 * uploads folders, and an upload is text the user picked with the page's file chooser.
 */
export class ChosenFolders {
  private readonly folders = new Set<string>();
  /** Ids of model.open requests on their way, whose replies name the folder as the engine resolved it. */
  private readonly opening = new Set<number>();

  add(folder: string): void {
    this.folders.add(path.resolve(folder));
  }

  has(folder: string): boolean {
    return this.folders.has(path.resolve(folder));
  }

  /**
   * Notes a request main passes on, and (with `reply`) the engine's answers: a model opened from a chosen folder is
   * allowed again under the name the engine gives it (ModelInfo.folder), which the renderer uses to reopen it
   * after an engine restart.
   */
  sent(message: ClientMessage): void {
    if ('method' in message && message.method === 'model.open') {
      if (this.opening.size > 1000) this.opening.clear();
      this.opening.add(message.id);
    }
  }

  reply(message: EngineMessage): void {
    if ('event' in message || !this.opening.delete(message.id) || !message.ok) return;
    const folder = (message.result as { folder?: unknown } | null)?.folder;
    if (typeof folder === 'string') this.add(folder);
  }

  /** null when main may pass the renderer's message on; else the error to answer it with. */
  refusal(message: ClientMessage): ProtocolError | null {
    if (!('method' in message) || !FOLDER_METHODS.includes(message.method)) return null;
    const params = message.params;
    const dir = typeof params === 'object' && params !== null ? (params as { dir?: unknown }).dir : undefined;
    // A missing or malformed dir is the engine's to answer (the demo model, or a bad-request naming the schema).
    if (typeof dir !== 'string' || dir === '' || this.has(dir)) return null;
    return {
      code: 'bad-request',
      message: `${dir.length > 300 ? `${dir.slice(0, 299)}…` : dir}: not a folder chosen in the Open dialog; choose the checkpoint folder with "Open folder…"`,
    };
  }
}

/** The app's one list: filled by chooseFolder (file-ipc.ts), consulted for every message from the renderer. */
export const chosenFolders = new ChosenFolders();
