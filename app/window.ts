import { BrowserWindow } from 'electron';
import { START_URL } from './renderer-files.ts';

/** `icon`: the app icon (dist/renderer/icon.png), for the window and, on Linux, the taskbar. */
export function createMainWindow(preload: string, devTools: boolean, icon: string): BrowserWindow {
  const window = new BrowserWindow({
    width: 1440,
    height: 920,
    minWidth: 960,
    minHeight: 600,
    title: 'MoTE Studio',
    icon,
    show: false,
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      devTools,
    },
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(START_URL);
  return window;
}
