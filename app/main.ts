// Electron main: windows, menus and dialogs, plus the bridge to the engine process. Bundled to dist/app/main.cjs.
import path from 'node:path';
import { inspect } from 'node:util';
import { app, BrowserWindow, dialog, ipcMain, Menu, type IpcMainEvent, type IpcMainInvokeEvent } from 'electron';
import { registerAppScheme, serveRenderer } from './app-protocol.ts';
import { forkEngine, engineLayout } from './engine-launch.ts';
import { chosenFolders } from './chosen-folders.ts';
import { describeExit, EngineSupervisor, type EngineExit } from './engine-supervisor.ts';
import { chooseFolder, registerFileHandlers } from './file-ipc.ts';
import { CHANNELS } from './ipc-channels.ts';
import { buildMenu } from './menu.ts';
import { toClientMessage } from './renderer-input.ts';
import { APP_ORIGIN, originOf } from './renderer-files.ts';
import { lockDownWebContents } from './web-security.ts';
import { createMainWindow } from './window.ts';

const devTools = !app.isPackaged;
let mainWindow: BrowserWindow | null = null;

function liveWindow(): BrowserWindow | null {
  return mainWindow !== null && !mainWindow.isDestroyed() ? mainWindow : null;
}

/** The main window, if the IPC event came from its renderer at the app:// origin. */
function trustedWindow(event: IpcMainEvent | IpcMainInvokeEvent): BrowserWindow | null {
  const window = liveWindow();
  const frame = event.senderFrame;
  if (window === null || event.sender !== window.webContents || frame === null) return null;
  return originOf(frame.url) === APP_ORIGIN ? window : null;
}

function toRenderer(channel: string, payload: unknown): void {
  liveWindow()?.webContents.send(channel, payload);
}

const supervisor = new EngineSupervisor(
  {
    spawn: (handlers) => forkEngine(
      engineLayout({
        packaged: app.isPackaged,
        appRoot: app.getAppPath(),
        resourcesPath: process.resourcesPath,
        userData: app.getPath('userData'),
        platform: process.platform,
        devNode: process.env.MOTE_NODE,
      }),
      handlers,
      (line, stream) => (stream === 'stderr' ? console.error : console.log)(`[engine] ${line}`),
    ),
  },
  {
    message: (message) => {
      chosenFolders.reply(message);
      toRenderer(CHANNELS.message, message);
    },
    status: (status) => toRenderer(CHANNELS.status, status),
    gaveUp: (exit, crashes) => void offerRetry(exit, crashes),
  },
);

async function offerRetry(exit: EngineExit, crashes: number): Promise<void> {
  const options = {
    type: 'error' as const,
    message: 'The MoTE Studio engine keeps stopping',
    detail: `It stopped ${crashes} times in a row soon after starting (last: ${describeExit(exit)}). Recorded runs are `
      + `kept and resume where they stopped.${exit.stderrTail.length > 0 ? `\n\n${exit.stderrTail.join('\n')}` : ''}`,
    buttons: ['Try Again', 'Quit'],
    defaultId: 0,
    cancelId: 1,
  };
  const window = liveWindow();
  const { response } = window !== null ? await dialog.showMessageBox(window, options) : await dialog.showMessageBox(options);
  if (response === 0) supervisor.retry();
  else app.quit();
}

async function openModelFolder(): Promise<void> {
  const window = liveWindow();
  if (window === null) return;
  const dir = await chooseFolder(window);
  if (dir === null) return;
  try {
    const info = await supervisor.request('model.open', { dir }, (event, data) => {
      if (event === 'build.progress' && 'total' in data && data.total > 0) window.setProgressBar(data.done / data.total);
    });
    chosenFolders.add(info.folder);
    // The renderer did not ask for this model: tell it, as an engine-wide event, so it reloads its state.
    toRenderer(CHANNELS.message, { event: 'model.opened', data: { folder: info.folder, checkpoint: info.checkpoint } });
  } catch (error) {
    await dialog.showMessageBox(window, {
      type: 'error',
      message: 'Could not open the model folder',
      detail: `${dir}\n\n${(error as Error).message}`,
    });
  } finally {
    if (!window.isDestroyed()) window.setProgressBar(-1);
  }
}

function showAbout(): void {
  const window = liveWindow();
  const options = {
    type: 'info' as const,
    title: 'About MoTE Studio',
    message: `MoTE Studio ${app.getVersion()}`,
    detail: 'Find and steer the experts behind a behaviour in Mixture-of-Experts language models.\n\n'
      + `Electron ${process.versions.electron} · Chromium ${process.versions.chrome} · Node ${process.versions.node}`,
  };
  void (window !== null ? dialog.showMessageBox(window, options) : dialog.showMessageBox(options));
}

function onReady(): void {
  lockDownWebContents();
  const rendererDir = path.join(app.getAppPath(), 'dist', 'renderer');
  serveRenderer(rendererDir);
  Menu.setApplicationMenu(buildMenu({ openModelFolder: () => void openModelFolder(), showAbout }, devTools, process.platform));
  registerFileHandlers(trustedWindow);
  ipcMain.on(CHANNELS.send, (event, raw: unknown) => {
    if (trustedWindow(event) === null) return;
    const message = toClientMessage(raw);
    if (message === null) {
      console.warn(`dropped a malformed message from the renderer: ${inspect(raw, { depth: 2, breakLength: Infinity }).slice(0, 200)}`);
      return;
    }
    const refused = chosenFolders.refusal(message);
    if (refused !== null && 'id' in message) {
      toRenderer(CHANNELS.message, { id: message.id, ok: false, error: refused });
      return;
    }
    chosenFolders.sent(message);
    supervisor.send(message);
  });
  ipcMain.handle(CHANNELS.currentStatus, (event) => (trustedWindow(event) === null ? null : supervisor.currentStatus));
  supervisor.start();
  mainWindow = createMainWindow(path.join(__dirname, 'preload.cjs'), devTools, path.join(rendererDir, 'icon.png'));
  mainWindow.webContents.on('did-start-navigation', (details) => {
    if (details.isMainFrame && !details.isSameDocument) supervisor.clientGone();
  });
  mainWindow.webContents.on('render-process-gone', () => supervisor.clientGone());
  mainWindow.on('closed', () => {
    mainWindow = null;
  });
}

registerAppScheme();
app.enableSandbox();
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    const window = liveWindow();
    if (window === null) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  app.on('window-all-closed', () => app.quit());
  app.on('will-quit', () => supervisor.stop());
  app.whenReady().then(onReady, (error: unknown) => {
    dialog.showErrorBox('MoTE Studio could not start', String(error));
    app.exit(1);
  });
}
