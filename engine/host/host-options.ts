import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultDatabaseFile } from '../store/default-location.ts';
import type { EngineHostOptions } from './engine-host.ts';

const APP_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface HostSettings {
  demoModel?: string;
  probes?: string;
  db?: string;
  cache?: string;
  threads?: number;
}

/**
 * Engine options from explicit settings, else the environment (MOTE_DEMO_MODEL, MOTE_PROBES_DIR, MOTE_DB,
 * MOTE_CACHE_DIR), else the defaults: models/demo and probes/ in the app folder, the user's database.
 */
export function hostOptions(settings: HostSettings, env: NodeJS.ProcessEnv = process.env): EngineHostOptions {
  const cache = settings.cache ?? env.MOTE_CACHE_DIR;
  return {
    demoModelDir: path.resolve(settings.demoModel ?? env.MOTE_DEMO_MODEL ?? path.join(APP_ROOT, 'models', 'demo')),
    probesDir: path.resolve(settings.probes ?? env.MOTE_PROBES_DIR ?? path.join(APP_ROOT, 'probes')),
    dbFile: path.resolve(settings.db ?? env.MOTE_DB ?? defaultDatabaseFile()),
    ...(cache ? { cacheDir: path.resolve(cache) } : {}),
    threads: settings.threads ?? 0,
  };
}
