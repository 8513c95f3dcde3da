import type { Migration } from '../migrate.ts';
import { migration001 } from './001-initial.ts';

/** Every migration, oldest first; the last one's version is the app's schema version. */
export const MIGRATIONS: readonly Migration[] = [migration001];

export const SCHEMA_VERSION = MIGRATIONS.length;
