import type { Heatmap, PromptHit, PromptRoutingView, Ranking, RecordedPrompt, RunSummary } from '../protocol/types.ts';
import type { ReadableDB } from '../store/database.ts';
import { finishedPromptIndices, getCounts, getPromptRouting, getPrompts, promptsRoutedTo, type Prompt, type Run } from '../store/runs.ts';
import type { Span } from '../store/span-counts.ts';

/** Token ids → one string per token; joined, they are the decoded text. */
export type TokenTexts = (ids: ArrayLike<number>) => string[];

export function runSummary(db: ReadableDB, run: Run): RunSummary {
  return {
    id: run.id,
    createdAt: run.createdAt,
    status: run.status,
    error: run.error,
    setId: run.setId,
    setPath: run.setPath,
    classes: run.set.classes.map((c) => c.id),
    modelHash: run.modelHash,
    architecture: run.model.architecture,
    precision: run.model.precision!,
    ...(run.model.remote ? { remote: run.model.remote } : {}),
    promptCount: run.promptCount,
    recorded: finishedPromptIndices(db, run.id).size,
    generateTokens: run.generateTokens,
    finishedAt: run.finishedAt,
    note: run.note,
  };
}

export function recordedPrompt(p: Prompt): RecordedPrompt {
  return { idx: p.idx, class: p.class, text: p.text, outputText: p.outputText, label: p.label, correct: p.correct };
}

/** Per-class rate and mean maps from the run's kept counts; declared classes first, each [layers × experts]. */
export function heatmap(db: ReadableDB, run: Run, span: Span): Heatmap {
  const { classes: totals, counts } = getCounts(db, run.id, span);
  const E = run.numExperts;
  const cells = run.moeLayers.length * E;
  const names = [...new Set([...run.set.classes.map((c) => c.id), ...totals.map((t) => t.class)])];
  const maps = new Map(names.map((name) => {
    const total = totals.find((t) => t.class === name) ?? { tokens: 0, prompts: 0 };
    return [name, { class: name, tokens: total.tokens, prompts: total.prompts, rate: new Array<number>(cells).fill(0), mean: new Array<number>(cells).fill(0) }];
  }));
  for (const c of counts) {
    const map = maps.get(c.class)!;
    const cell = run.moeLayers.indexOf(c.layer) * E + c.expert;
    map.rate[cell] = c.hits / map.tokens;
    map.mean[cell] = c.promptRateSum / map.prompts;
  }
  return { runId: run.id, span, layers: run.moeLayers, experts: E, classes: [...maps.values()] };
}

export function expertPrompts(db: ReadableDB, run: Run, layer: number, expert: number, span: Span, texts: TokenTexts): PromptHit[] {
  return promptsRoutedTo(db, run.id, layer, expert, span).map((hit) => {
    const routing = getPromptRouting(db, run.id, hit.idx)!;
    return { idx: hit.idx, class: hit.class, tokens: texts(routing.tokenIds), promptTokens: routing.promptTokens, positions: hit.tokenPositions };
  });
}

/** undefined when the run has no recorded prompt `idx`. */
export function promptRoutingView(db: ReadableDB, run: Run, idx: number, texts: TokenTexts): PromptRoutingView | undefined {
  const routing = getPromptRouting(db, run.id, idx);
  if (!routing) return undefined;
  const prompt = getPrompts(db, run.id).find((p) => p.idx === idx)!;
  return {
    idx,
    class: prompt.class,
    tokens: texts(routing.tokenIds),
    promptTokens: routing.promptTokens,
    layers: routing.moeLayers,
    k: routing.k,
    selected: Array.from(routing.selected),
    weights: Array.from(routing.weights, (w) => (Number.isNaN(w) ? null : Number(w.toFixed(6)))),
  };
}

/** The full ranking, best first, one row per (layer, expert); rank is the competition rank (tied experts share it). */
export function rankingCsv(ranking: Ranking): string {
  const header = 'rank,layer,expert,score,rate_target,rate_other,mean_target,mean_other,p,q';
  const rows = ranking.scores.map((s) => [s.rank, s.layer, s.expert, s.score, s.rateTarget, s.rateOther, s.meanTarget, s.meanOther, s.p, s.q].join(','));
  return [header, ...rows].join('\n') + '\n';
}
