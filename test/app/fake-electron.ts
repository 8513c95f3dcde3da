import { EventEmitter } from 'node:events';

/**
 * Just enough of Electron's main-process API for dist/app/main.cjs to run under plain Node, recording what main
 * asks of it. Electron's binary cannot be downloaded here; this checks main's wiring, not Electron.
 */
export interface IpcEvent {
  sender: FakeWebContents;
  senderFrame: { url: string } | null;
}

export class FakeWebContents extends EventEmitter {
  readonly sent: { channel: string; payload: unknown }[] = [];
  openHandler: (() => { action: string }) | null = null;

  send(channel: string, payload: unknown): void {
    this.sent.push({ channel, payload });
  }

  setWindowOpenHandler(handler: () => { action: string }): void {
    this.openHandler = handler;
  }
}

export function fakeElectron(appRoot: string, userData: string) {
  const log: string[] = [];
  let ready = false;
  let markReady = () => {};
  const whenReady = new Promise<void>((resolve) => {
    markReady = () => {
      ready = true;
      resolve();
    };
  });
  const appEvents = new EventEmitter();
  const ipcListeners = new Map<string, (event: IpcEvent, ...args: unknown[]) => void>();
  const ipcHandlers = new Map<string, (event: IpcEvent, ...args: unknown[]) => unknown>();
  const windows: FakeBrowserWindow[] = [];
  const protocolHandlers = new Map<string, (request: Request) => Promise<Response>>();
  const permissions: {
    request?: (contents: unknown, permission: string, callback: (granted: boolean) => void, details: { requestingUrl: string }) => void;
    check?: (contents: unknown, permission: string, origin: string) => boolean;
    blocked?: { urls: string[] };
  } = {};
  const dialogs = { saveTo: null as string | null, openTo: null as string | null, messages: [] as unknown[] };

  class FakeBrowserWindow extends EventEmitter {
    readonly webContents = new FakeWebContents();
    url = '';
    constructor(readonly options: { webPreferences: Record<string, unknown>; icon?: string }) {
      super();
      windows.push(this);
      appEvents.emit('web-contents-created', {}, this.webContents);
    }
    loadURL(url: string) {
      this.url = url;
      return Promise.resolve();
    }
    isDestroyed() {
      return false;
    }
    setProgressBar() {}
  }

  const electron = {
    app: {
      isPackaged: false,
      getAppPath: () => appRoot,
      getPath: (name: string) => (name === 'userData' ? userData : `${userData}/${name}`),
      getVersion: () => '0.0.0-test',
      enableSandbox: () => log.push('enableSandbox'),
      requestSingleInstanceLock: () => true,
      on: (event: string, listener: (...args: unknown[]) => void) => appEvents.on(event, listener),
      whenReady: () => whenReady,
      quit: () => log.push('quit'),
      exit: (code: number) => log.push(`exit ${code}`),
    },
    protocol: {
      registerSchemesAsPrivileged: (schemes: { scheme: string; privileges: Record<string, boolean> }[]) => {
        log.push(`registerSchemesAsPrivileged ${ready ? 'after' : 'before'} ready: ${JSON.stringify(schemes)}`);
      },
      handle: (scheme: string, handler: (request: Request) => Promise<Response>) => protocolHandlers.set(scheme, handler),
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (handler: typeof permissions.request) => { permissions.request = handler; },
        setPermissionCheckHandler: (handler: typeof permissions.check) => { permissions.check = handler; },
        setDevicePermissionHandler: () => {},
        webRequest: { onBeforeRequest: (filter: { urls: string[] }) => { permissions.blocked = filter; } },
      },
    },
    ipcMain: {
      on: (channel: string, listener: (event: IpcEvent, ...args: unknown[]) => void) => ipcListeners.set(channel, listener),
      handle: (channel: string, handler: (event: IpcEvent, ...args: unknown[]) => unknown) => ipcHandlers.set(channel, handler),
    },
    dialog: {
      showSaveDialog: async () => ({ canceled: dialogs.saveTo === null, filePath: dialogs.saveTo ?? undefined }),
      showOpenDialog: async () => ({ canceled: dialogs.openTo === null, filePaths: dialogs.openTo === null ? [] : [dialogs.openTo] }),
      showMessageBox: async (...args: unknown[]) => {
        dialogs.messages.push(args.at(-1));
        return { response: 1 };
      },
      showErrorBox: (title: string, content: string) => dialogs.messages.push({ title, content }),
    },
    Menu: {
      buildFromTemplate: (template: unknown) => template,
      setApplicationMenu: (menu: unknown) => log.push(`menu ${JSON.stringify(menu)}`),
    },
    BrowserWindow: FakeBrowserWindow,
  };
  return { electron, log, markReady, appEvents, ipcListeners, ipcHandlers, windows, protocolHandlers, permissions, dialogs };
}
