import type { EngineClient } from './engine-client.ts';
import { ElectronEngineClient } from './electron-client.ts';
import type { MoteEnginePreload } from './preload-api.ts';
import { engineSocketUrl, WebSocketEngineClient } from './websocket-client.ts';

/** What the UI needs from where it runs: the engine, and the few file operations that differ by host. */
export interface Host {
  kind: 'electron' | 'browser';
  engine: EngineClient;
  /** Native folder picker (Electron only). */
  openFolder?: () => Promise<string | null>;
  /** Saves text under a suggested name; resolves to the path when the host knows it, null when cancelled or unknown. */
  saveText(name: string, content: string, mime: string): Promise<string | null>;
  saveBlob(name: string, blob: Blob): Promise<string | null>;
}

function download(name: string, blob: Blob): Promise<null> {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return Promise.resolve(null);
}

/** Electron when its preload exposed `window.moteEngine`, else browser mode (`mote serve`). */
export function createHost(): Host {
  const preload: MoteEnginePreload | undefined = window.moteEngine;
  if (preload) {
    const saveFile = preload.saveFile?.bind(preload);
    return {
      kind: 'electron',
      engine: new ElectronEngineClient(preload),
      openFolder: preload.openFolder?.bind(preload),
      saveText: (name, content, mime) => (saveFile ? saveFile(name, content) : download(name, new Blob([content], { type: mime }))),
      saveBlob: download,
    };
  }
  return {
    kind: 'browser',
    engine: new WebSocketEngineClient(engineSocketUrl(window.location), window.location.href),
    saveText: (name, content, mime) => download(name, new Blob([content], { type: mime })),
    saveBlob: download,
  };
}
