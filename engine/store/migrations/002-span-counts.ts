import type { Migration } from '../migrate.ts';
import { toBlob } from '../routing-blobs.ts';

/**
 * Replaces expert_counts (a row per class, span, layer and expert) and class_totals with span_counts, a row per
 * (run, span, class) holding the whole count matrices, so recording a prompt rewrites one row per span instead of
 * upserting one per routed expert. The BLOBs are little-endian [L, E] arrays: L = the run's moe_layers, in that
 * order (layer l is decoder layer moe_layers[l]); E = num_experts. Existing counts are converted.
 */
export const migration002: Migration = {
  version: 2,
  name: 'span counts',
  up(db) {
    // Not WITHOUT ROWID, which SQLite advises for rows under about 1/20 of a page: a row here is L × E × 12 bytes, and
    // a WITHOUT ROWID b-tree keeps whole rows in interior pages and overflows rows past about a quarter page, so
    // updating a row would write more pages.
    db.exec(`
      CREATE TABLE span_counts (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        span TEXT NOT NULL CHECK (span IN ('prompt', 'response', 'last')),
        class TEXT NOT NULL,
        tokens INTEGER NOT NULL, -- span tokens over the class's prompts
        prompts INTEGER NOT NULL, -- prompts with at least one span token
        hits BLOB NOT NULL, -- int32 [L, E]: span tokens routed to each expert, over the class's prompts
        rate_sums BLOB NOT NULL, -- float64 [L, E]: sum over prompts of hits / span tokens (for the MoTE mean map)
        PRIMARY KEY (run_id, span, class)
      ) STRICT;
    `);
    const totals = db.prepare(`
      SELECT t.run_id, t.span, t.class, t.tokens, t.prompts, r.moe_layers, r.num_experts
      FROM class_totals t JOIN runs r ON r.id = t.run_id
    `).all() as { run_id: number; span: string; class: string; tokens: number; prompts: number; moe_layers: string; num_experts: number }[];
    const counts = db.prepare(`
      SELECT layer, expert, hits, prompt_rate_sum FROM expert_counts WHERE run_id = ? AND span = ? AND class = ?
    `);
    const insert = db.prepare('INSERT INTO span_counts VALUES (?, ?, ?, ?, ?, ?, ?)');
    for (const t of totals) {
      const layers = JSON.parse(t.moe_layers) as number[];
      const E = t.num_experts;
      const hits = new Int32Array(layers.length * E);
      const rateSums = new Float64Array(hits.length);
      const rows = counts.all(t.run_id, t.span, t.class) as { layer: number; expert: number; hits: number; prompt_rate_sum: number }[];
      for (const c of rows) {
        const l = layers.indexOf(c.layer);
        if (l < 0 || c.expert < 0 || c.expert >= E) {
          throw new Error(`run ${t.run_id} counts expert ${c.expert} of layer ${c.layer}, outside its MoE layers `
            + `${t.moe_layers} × ${E} experts`);
        }
        hits[l * E + c.expert] = c.hits;
        rateSums[l * E + c.expert] = c.prompt_rate_sum;
      }
      insert.run(t.run_id, t.span, t.class, t.tokens, t.prompts, toBlob(hits), toBlob(rateSums));
    }
    db.exec('DROP TABLE expert_counts; DROP TABLE class_totals;');
  },
};
