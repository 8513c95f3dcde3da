import { app, session } from 'electron';
import { APP_ORIGIN, originOf } from './renderer-files.ts';

/** Writing to the clipboard (copy mask JSON) is the one permission the renderer gets. */
function allowed(permission: string, origin: string): boolean {
  return permission === 'clipboard-sanitized-write' && origin === APP_ORIGIN;
}

/**
 * Locks every web contents to the app:// renderer: no navigation, no new windows, no webviews, no permissions
 * beyond the clipboard write, no network requests. Call once, before the first window.
 */
export function lockDownWebContents(): void {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_contents, permission, callback, details) => {
    callback(allowed(permission, originOf(details.requestingUrl)));
  });
  ses.setPermissionCheckHandler((_contents, permission, requestingOrigin) => allowed(permission, requestingOrigin));
  ses.setDevicePermissionHandler(() => false);
  ses.webRequest.onBeforeRequest({ urls: ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*'] }, (_details, callback) => {
    callback({ cancel: true });
  });
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event) => event.preventDefault());
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
}
