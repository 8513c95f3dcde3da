import type { Migration } from '../migrate.ts';

/**
 * Probe runs, their prompts with routing BLOBs, per-class expert counts kept up to date as prompts finish, and
 * evaluations (DESIGN §6). Layers are decoder-layer indices. BLOBs are little-endian typed arrays whose shape
 * comes from the run: T routed tokens (prompt tokens first), L = moe_layers length, k = top_k, E = num_experts.
 * Span is 'prompt' (every prompt token), 'response' (generated or teacher-forced tokens) or 'last' (the last
 * prompt token).
 */
export const migration001: Migration = {
  version: 1,
  name: 'initial',
  up(db) {
    db.exec(`
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        model_dir TEXT NOT NULL,
        model_hash TEXT NOT NULL,
        model_json TEXT NOT NULL,
        set_id TEXT NOT NULL,
        set_path TEXT NOT NULL,
        set_json TEXT NOT NULL,
        generate_tokens INTEGER NOT NULL,
        mask_json TEXT,
        record_logits INTEGER NOT NULL CHECK (record_logits IN (0, 1)),
        status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'cancelled', 'failed')),
        prompt_count INTEGER NOT NULL,
        error TEXT,
        finished_at TEXT,
        moe_layers TEXT NOT NULL,
        num_experts INTEGER NOT NULL,
        top_k INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE prompts (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        class TEXT NOT NULL,
        text TEXT NOT NULL,
        response_forced TEXT,
        answer TEXT,
        prompt_tokens INTEGER NOT NULL, -- how many of token_ids are the prompt
        output_text TEXT NOT NULL,
        label TEXT,
        correct INTEGER CHECK (correct IN (0, 1)),
        -- BLOBs last: reading a column stored after a BLOB walks the BLOB's overflow pages. selected first, for
        -- the scans that read nothing else.
        selected BLOB NOT NULL, -- int16 [T, L, k], -1 = dropped slot
        token_ids BLOB NOT NULL, -- int32 [prompt + response tokens]
        weights BLOB NOT NULL, -- float32 [T, L, k]
        router_logits BLOB, -- float32 [T, L, E]
        PRIMARY KEY (run_id, idx)
      ) STRICT;

      -- span comes before class in the keys because the heatmaps read one span of a run at a time.
      CREATE TABLE expert_counts (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        class TEXT NOT NULL,
        span TEXT NOT NULL CHECK (span IN ('prompt', 'response', 'last')),
        layer INTEGER NOT NULL,
        expert INTEGER NOT NULL,
        hits INTEGER NOT NULL, -- span tokens routed to the expert, over the class's prompts
        prompt_rate_sum REAL NOT NULL, -- sum over prompts of hits / span tokens (for the MoTE mean map)
        PRIMARY KEY (run_id, span, class, layer, expert)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE class_totals (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        class TEXT NOT NULL,
        span TEXT NOT NULL CHECK (span IN ('prompt', 'response', 'last')),
        tokens INTEGER NOT NULL, -- span tokens over the class's prompts
        prompts INTEGER NOT NULL, -- prompts with at least one span token
        PRIMARY KEY (run_id, span, class)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE evaluations (
        id INTEGER PRIMARY KEY,
        run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        model_hash TEXT NOT NULL,
        set_id TEXT NOT NULL,
        mask_json TEXT NOT NULL,
        result_json TEXT NOT NULL
      ) STRICT;
      -- Deleting a run looks its evaluations up by run_id.
      CREATE INDEX evaluations_run_id ON evaluations (run_id);
    `);
  },
};
