import type { ExpertMask, Heatmap, PromptRoutingView, Ranking, RankMethod, Span, TokenRouting } from '../../engine/protocol/types.ts';

/**
 * Big arrays live here, outside the store: the store holds only their keys, so a component re-renders when a key
 * changes and reads the arrays from this cache. Grids are row-major [rows × experts], row r = decoder layer layers[r].
 */
export interface HeatmapGrids {
  layers: number[];
  experts: number;
  classes: { class: string; tokens: number; prompts: number; rate: Float32Array; mean: Float32Array }[];
}

export interface RankingGrids {
  target: string;
  method: RankMethod;
  layers: number[];
  experts: number;
  targetPrompts: number;
  otherPrompts: number;
  score: Float64Array;
  /** float64, as computed: p- and q-values reach far below float32's smallest number (1.4e-45), which would read as 0. */
  p: Float64Array;
  q: Float64Array;
  /** Cell indices (row × experts + expert), best first. */
  order: Uint32Array;
  /** Competition rank of order[i]: tied experts share one. */
  rank: Uint32Array;
}

export const heatmapKey = (runId: number, span: Span) => `${runId}|${span}`;
export const rankingKey = (runId: number, span: Span, target: string, method: RankMethod) => `${runId}|${span}|${target}|${method}`;

const LIMIT = 16;

class LruCache<V> {
  private readonly map = new Map<string, V>();
  get(key: string | null): V | undefined {
    if (key === null) return undefined;
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    if (this.map.size > LIMIT) this.map.delete(this.map.keys().next().value!);
  }
  clear(): void {
    this.map.clear();
  }
}

export const heatmaps = new LruCache<HeatmapGrids>();
export const rankings = new LruCache<RankingGrids>();
export const promptRoutings = new LruCache<PromptRoutingView>();

export function toHeatmapGrids(h: Heatmap): HeatmapGrids {
  return {
    layers: h.layers,
    experts: h.experts,
    classes: h.classes.map((c) => ({ class: c.class, tokens: c.tokens, prompts: c.prompts, rate: Float32Array.from(c.rate), mean: Float32Array.from(c.mean) })),
  };
}

export function toRankingGrids(r: Ranking): RankingGrids {
  const n = r.layers.length * r.experts;
  const rowOf = new Map(r.layers.map((layer, row) => [layer, row]));
  const g: RankingGrids = {
    target: r.target, method: r.method, layers: r.layers, experts: r.experts, targetPrompts: r.targetPrompts, otherPrompts: r.otherPrompts,
    score: new Float64Array(n).fill(NaN), p: new Float64Array(n).fill(NaN), q: new Float64Array(n).fill(NaN),
    order: new Uint32Array(r.scores.length), rank: new Uint32Array(r.scores.length),
  };
  r.scores.forEach((s, i) => {
    const cell = rowOf.get(s.layer)! * r.experts + s.expert;
    g.score[cell] = s.score;
    g.p[cell] = s.p;
    g.q[cell] = s.q;
    g.order[i] = cell;
    g.rank[i] = s.rank;
  });
  return g;
}

/** Per-cell routing counts of one streamed generation (generated tokens only). */
export interface RoutingCounts {
  layers: number[];
  experts: number;
  tokens: number;
  counts: Float32Array;
}

export const emptyCounts = (layers: number[], experts: number): RoutingCounts => ({ layers, experts, tokens: 0, counts: new Float32Array(layers.length * experts) });

/** Compare panes' routing counts, replaced at each compare run. */
export const compareRouting: { baseline: RoutingCounts | null; steered: RoutingCounts | null } = { baseline: null, steered: null };

/** One streamed generation, token by token, as the token routing view shows it. */
export interface GenerationTrace {
  /** The mask it ran with. */
  mask: ExpertMask;
  /** The prompt's tokens (each decoded alone) and their routing, once prefill is done. */
  prompt: { ids: number[]; tokens: string[]; routing: TokenRouting[][] | null } | null;
  ids: number[];
  tokens: string[];
  /** Per generated token: its routing per MoE layer, null where the engine had none. */
  routing: (TokenRouting[] | null)[];
}

export const emptyTrace = (mask: ExpertMask): GenerationTrace => ({ mask, prompt: null, ids: [], tokens: [], routing: [] });

/** The live panel's and the Compare panes' generations, replaced at each run (keys: live, baseline, steered). */
export const generationTraces: { live: GenerationTrace | null; baseline: GenerationTrace | null; steered: GenerationTrace | null } = {
  live: null, baseline: null, steered: null,
};

export function clearDatasets(): void {
  heatmaps.clear();
  rankings.clear();
  promptRoutings.clear();
}
