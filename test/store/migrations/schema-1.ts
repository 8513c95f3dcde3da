/**
 * A store at schema version 1, written the way the released app wrote it: for each prompt, the prompt row and
 * upserts of one expert_counts row per (span, layer, expert) and one class_totals row per span.
 */
import Database from 'better-sqlite3';
import { migrate } from '../../../engine/store/migrate.ts';
import { MIGRATIONS } from '../../../engine/store/migrations/index.ts';
import { toBlob } from '../../../engine/store/routing-blobs.ts';
import type { ClassTotal, ExpertCount, PromptRecord } from '../../../engine/store/runs.ts';
import { countSpans, type Span } from '../../../engine/store/span-counts.ts';

export function openSchema1(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('foreign_keys = ON');
  migrate(db, MIGRATIONS.slice(0, 1));
  return db;
}

export function recordPromptV1(db: Database.Database, runId: number, prompt: PromptRecord,
  shape: { moeLayers: number[]; numExperts: number; topK: number }): void {
  const { moeLayers, numExperts: E, topK: k } = shape;
  const selected = Int16Array.from(prompt.selected);
  db.transaction(() => {
    const { changes } = db.prepare(`
      INSERT INTO prompts (run_id, idx, class, text, response_forced, answer, token_ids, prompt_tokens, output_text,
        label, correct, selected, weights, router_logits)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (run_id, idx) DO NOTHING
    `).run(runId, prompt.idx, prompt.class, prompt.text, prompt.responseForced ?? null, prompt.answer ?? null,
      toBlob(prompt.tokenIds), prompt.promptTokens, prompt.outputText, prompt.label,
      prompt.correct === null ? null : Number(prompt.correct), toBlob(selected), toBlob(prompt.weights),
      prompt.routerLogits ? toBlob(prompt.routerLogits) : null);
    if (changes === 0) return;
    const addTotal = db.prepare(`
      INSERT INTO class_totals (run_id, span, class, tokens, prompts) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET tokens = tokens + excluded.tokens, prompts = prompts + excluded.prompts
    `);
    const addCount = db.prepare(`
      INSERT INTO expert_counts (run_id, span, class, layer, expert, hits, prompt_rate_sum) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET hits = hits + excluded.hits, prompt_rate_sum = prompt_rate_sum + excluded.prompt_rate_sum
    `);
    for (const { span, tokens, hits } of countSpans(selected, prompt.promptTokens, moeLayers.length, k, E)) {
      addTotal.run(runId, span, prompt.class, tokens, tokens > 0 ? 1 : 0);
      hits.forEach((n, cell) => {
        if (n > 0) addCount.run(runId, span, prompt.class, moeLayers[Math.floor(cell / E)], cell % E, n, n / tokens);
      });
    }
  }).immediate();
}

/** The released app's getCounts. */
export function getCountsV1(db: Database.Database, runId: number, span: Span): { classes: ClassTotal[]; counts: ExpertCount[] } {
  return {
    classes: db.prepare('SELECT class, tokens, prompts FROM class_totals WHERE run_id = ? AND span = ? ORDER BY class')
      .all(runId, span) as ClassTotal[],
    counts: db.prepare(`
      SELECT class, layer, expert, hits, prompt_rate_sum AS promptRateSum
      FROM expert_counts WHERE run_id = ? AND span = ? ORDER BY class, layer, expert
    `).all(runId, span) as ExpertCount[],
  };
}

/** The released app's getPromptRouting query (the BLOBs as stored, undecoded). */
export function getPromptRoutingV1(db: Database.Database, runId: number, idx: number): unknown {
  return db.prepare(`
    SELECT p.token_ids, p.prompt_tokens, p.selected, p.weights, p.router_logits, r.moe_layers, r.top_k, r.num_experts
    FROM prompts p JOIN runs r ON r.id = p.run_id WHERE p.run_id = ? AND p.idx = ?
  `).get(runId, idx);
}
