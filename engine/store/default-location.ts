import os from 'node:os';
import path from 'node:path';

/** Where runs are recorded unless --db says otherwise: $MOTE_DATA_DIR/mote.db, by default ~/.local/share/mote-studio. */
export function defaultDatabaseFile(): string {
  return path.join(process.env.MOTE_DATA_DIR ?? path.join(os.homedir(), '.local', 'share', 'mote-studio'), 'mote.db');
}
