import type { Migration } from '../migrate.ts';
import { crc32 } from '../crc32.ts';

/**
 * A CRC32 beside every routing BLOB, so damage inside a BLOB (which PRAGMA integrity_check cannot see) is found when
 * it is read instead of being served as routing.
 *
 * prompt_crcs holds the CRC32s of a prompt's BLOBs, in a table of its own rather than in new prompts columns: added
 * columns would come after the BLOBs, and reading a column stored after a BLOB walks the BLOB's overflow pages;
 * rebuilding prompts to put them first would rewrite every routing BLOB. This way the migration reads each BLOB once
 * and writes a row of a few dozen bytes. span_counts rows are small and rewritten by every recorded prompt anyway,
 * so that table is rebuilt with its CRC32s before its BLOBs. Existing rows get the CRC32s of the BLOBs as they are.
 */
export const migration003: Migration = {
  version: 3,
  name: 'checksums',
  up(db) {
    db.function('mote_crc32', { deterministic: true }, (blob: unknown) => (blob === null ? null : crc32(blob as Buffer)));
    db.exec(`
      CREATE TABLE prompt_crcs (
        run_id INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        selected INTEGER NOT NULL,
        token_ids INTEGER NOT NULL,
        weights INTEGER NOT NULL,
        router_logits INTEGER, -- NULL when the prompt has no router logits
        PRIMARY KEY (run_id, idx),
        FOREIGN KEY (run_id, idx) REFERENCES prompts (run_id, idx) ON DELETE CASCADE
      ) STRICT, WITHOUT ROWID;
      INSERT INTO prompt_crcs (run_id, idx, selected, token_ids, weights, router_logits)
        SELECT run_id, idx, mote_crc32(selected), mote_crc32(token_ids), mote_crc32(weights), mote_crc32(router_logits)
        FROM prompts;

      CREATE TABLE span_counts_new (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        span TEXT NOT NULL CHECK (span IN ('prompt', 'response', 'last')),
        class TEXT NOT NULL,
        tokens INTEGER NOT NULL, -- span tokens over the class's prompts
        prompts INTEGER NOT NULL, -- prompts with at least one span token
        hits_crc INTEGER NOT NULL, -- CRC32 of hits
        rate_sums_crc INTEGER NOT NULL, -- CRC32 of rate_sums
        hits BLOB NOT NULL, -- int32 [L, E]: span tokens routed to each expert, over the class's prompts
        rate_sums BLOB NOT NULL, -- float64 [L, E]: sum over prompts of hits / span tokens (for the MoTE mean map)
        PRIMARY KEY (run_id, span, class)
      ) STRICT;
      INSERT INTO span_counts_new (run_id, span, class, tokens, prompts, hits_crc, rate_sums_crc, hits, rate_sums)
        SELECT run_id, span, class, tokens, prompts, mote_crc32(hits), mote_crc32(rate_sums), hits, rate_sums FROM span_counts;
      DROP TABLE span_counts;
      ALTER TABLE span_counts_new RENAME TO span_counts;
    `);
  },
};
