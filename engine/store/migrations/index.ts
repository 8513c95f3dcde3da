import type { Migration } from '../migrate.ts';
import { migration001 } from './001-initial.ts';
import { migration002 } from './002-span-counts.ts';
import { migration003 } from './003-checksums.ts';
import { migration004 } from './004-run-notes.ts';

/** Every migration, oldest first; the last one's version is the app's schema version. */
export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003, migration004];

export const SCHEMA_VERSION = MIGRATIONS.length;
