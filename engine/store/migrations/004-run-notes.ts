import type { Migration } from '../migrate.ts';

/** A researcher's note on each run ("baseline before the retrain", "prompts 40–60 look off"); empty by default. */
export const migration004: Migration = {
  version: 4,
  name: 'run-notes',
  up(db) {
    db.exec(`ALTER TABLE runs ADD COLUMN note TEXT NOT NULL DEFAULT ''`);
  },
};
