/** Electron IPC channel names shared by main and preload; the renderer never sees them. */
export const CHANNELS = {
  /** renderer → main: one ClientMessage. */
  send: 'mote:engine:send',
  /** main → renderer: one EngineMessage. */
  message: 'mote:engine:message',
  /** main → renderer: 'connected' | 'disconnected' | 'restarting', on every change. */
  status: 'mote:engine:status',
  /** invoke() → the current status, for the preload to start from. */
  currentStatus: 'mote:engine:current-status',
  /** invoke(name, content) → saved path or null. */
  saveFile: 'mote:file:save',
  /** invoke() → chosen folder or null. */
  openFolder: 'mote:folder:open',
} as const;

export type EngineStatus = 'connected' | 'disconnected' | 'restarting';
