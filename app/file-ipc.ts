import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { app, dialog, ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import { chosenFolders } from './chosen-folders.ts';
import { CHANNELS } from './ipc-channels.ts';
import { toSaveFileRequest } from './renderer-input.ts';

/**
 * The one folder the renderer or the menu asks for: a checkpoint. The folder chosen is remembered (chosenFolders),
 * so the renderer may then have the engine open it.
 */
export async function chooseFolder(window: BrowserWindow): Promise<string | null> {
  const result = await dialog.showOpenDialog(window, {
    title: 'Open a model folder (config.json, *.safetensors, tokenizer.json)',
    properties: ['openDirectory'],
  });
  const folder = result.canceled ? null : result.filePaths[0] ?? null;
  if (folder !== null) chosenFolders.add(folder);
  return folder;
}

async function saveFile(window: BrowserWindow, name: string, content: string): Promise<string | null> {
  const extension = path.extname(name).slice(1).toLowerCase();
  const result = await dialog.showSaveDialog(window, {
    defaultPath: path.join(app.getPath('downloads'), name),
    filters: extension === ''
      ? [{ name: 'All files', extensions: ['*'] }]
      : [{ name: `${extension.toUpperCase()} file`, extensions: [extension] }, { name: 'All files', extensions: ['*'] }],
  });
  if (result.canceled || result.filePath === undefined || result.filePath === '') return null;
  await writeFile(result.filePath, content, 'utf8');
  return result.filePath;
}

/** saveFile and openFolder for the preload; requests from anything but the main window's renderer are refused. */
export function registerFileHandlers(windowFor: (event: IpcMainInvokeEvent) => BrowserWindow | null): void {
  ipcMain.handle(CHANNELS.saveFile, (event, ...args: unknown[]) => {
    const window = windowFor(event);
    if (window === null) throw new Error('saveFile: not allowed from this page');
    const request = toSaveFileRequest(args);
    if (request === null) throw new Error('saveFile(name, content): name must be a bare file name, content a string');
    return saveFile(window, request.name, request.content);
  });
  ipcMain.handle(CHANNELS.openFolder, (event) => {
    const window = windowFor(event);
    if (window === null) throw new Error('openFolder: not allowed from this page');
    return chooseFolder(window);
  });
}
