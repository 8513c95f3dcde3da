import os from 'node:os';
import path from 'node:path';

/** The user's data folder: $MOTE_DATA_DIR, by default ~/.local/share/mote-studio. */
function dataDir(): string {
  return process.env.MOTE_DATA_DIR ?? path.join(os.homedir(), '.local', 'share', 'mote-studio');
}

/** Where runs are recorded unless --db says otherwise: mote.db in the data folder. */
export function defaultDatabaseFile(): string {
  return path.join(dataDir(), 'mote.db');
}

/** Where the OpenAI-compatible endpoint finds saved masks (NAME.json) unless --masks says otherwise. */
export function defaultMasksDir(): string {
  return path.join(dataDir(), 'masks');
}
