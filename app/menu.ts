import { Menu, type MenuItemConstructorOptions } from 'electron';

export interface MenuActions {
  openModelFolder(): void;
  showAbout(): void;
}

export function buildMenu(actions: MenuActions, devTools: boolean, platform: NodeJS.Platform): Menu {
  const mac = platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(mac ? [{ role: 'appMenu' } as const] : []),
    {
      label: '&File',
      submenu: [
        { label: 'Open Model Folder…', accelerator: 'CmdOrCtrl+O', click: () => actions.openModelFolder() },
        { type: 'separator' },
        mac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    // Without Edit roles, copy and paste shortcuts do nothing in text fields on macOS.
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        { role: 'reload' },
        ...(devTools ? [{ role: 'toggleDevTools' } as const] : []),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    {
      label: '&Help',
      submenu: [{ label: 'About MoTE Studio', click: () => actions.showAbout() }],
    },
  ];
  return Menu.buildFromTemplate(template);
}
