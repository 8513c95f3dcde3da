import type { ExpertMask, TokenRouting } from '../../engine/protocol/types.ts';
import type { GenerationTrace } from '../state/datasets.ts';

/**
 * What the token × layer routing view shows, computed from streamed generations (no DOM). A column is one token
 * (prompt tokens first, if shown), a row one MoE layer; a cell lists the experts the token was sent to, best first.
 */

/** forced / off: the expert's state in the mask the steered run used; normal otherwise. */
export type ExpertMark = 'normal' | 'forced' | 'off';

export interface ExpertChip {
  expert: number;
  weight: number;
  mark: ExpertMark;
}

export interface RoutingCell {
  chips: ExpertChip[];
  /** Slots left empty: k minus the experts that ran (drop mode takes off experts' slots away). */
  dropped: number;
  /**
   * Off experts the unsteered model chose for this token at the same context (prompt and tokens before it
   * identical), with their baseline weights: what the mask took away. Null where there is no such baseline.
   */
  removed: { expert: number; weight: number }[] | null;
}

export interface TokenColumn {
  /** Position in the whole sequence (prompt tokens first). */
  pos: number;
  text: string;
  prompt: boolean;
  /** Index among the generated tokens, −1 for a prompt token. */
  generated: number;
  /** Routing per MoE layer; null where the engine had none. */
  routing: TokenRouting[] | null;
  /** The baseline's routing of this token at the same context, or null (no baseline, or the outputs diverged). */
  reference: TokenRouting[] | null;
  /** A generated token after the baseline and steered outputs diverged (its context differs from the baseline's). */
  diverged: boolean;
}

/** Which mask entry (off / forced) each (layer, expert) has. */
export type MaskLookup = (layer: number, expert: number) => ExpertMark;

export function maskLookup(mask: ExpertMask): MaskLookup {
  const states = new Map(mask.entries.map((e) => [`${e.layer}:${e.expert}`, e.state]));
  return (layer, expert) => states.get(`${layer}:${expert}`) ?? 'normal';
}

const sameIds = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Leading generated tokens of a and b produced at the same context: same prompt, same tokens up to each. Null while
 * either prompt is unknown (its event not received).
 */
export function sharedContext(a: GenerationTrace, b: GenerationTrace): { prompt: boolean; generated: number } | null {
  if (!a.prompt || !b.prompt) return null;
  if (!sameIds(a.prompt.ids, b.prompt.ids)) return { prompt: false, generated: 0 };
  let n = 0;
  while (n < a.ids.length && n < b.ids.length && a.ids[n] === b.ids[n]) n++;
  return { prompt: true, generated: n };
}

/**
 * Columns of `trace`. With a `reference` (the baseline run of a steered trace), tokens whose context is the same in
 * both carry the baseline's routing, so the view can say which experts the mask removed.
 */
export function traceColumns(trace: GenerationTrace, opts: { prompt: boolean; reference?: GenerationTrace | null }): TokenColumn[] {
  const ref = opts.reference ?? null;
  const known = ref ? sharedContext(trace, ref) : null;
  const shared = known ?? { prompt: false, generated: 0 };
  const columns: TokenColumn[] = [];
  if (opts.prompt && trace.prompt) {
    const p = trace.prompt;
    p.tokens.forEach((text, t) => columns.push({
      pos: t, text, prompt: true, generated: -1, routing: p.routing?.[t] ?? null,
      reference: shared.prompt ? ref!.prompt!.routing?.[t] ?? null : null, diverged: false,
    }));
  }
  const offset = trace.prompt?.ids.length ?? 0;
  trace.tokens.forEach((text, i) => columns.push({
    pos: offset + i, text, prompt: false, generated: i, routing: trace.routing[i],
    reference: i < shared.generated ? ref!.routing[i] : null, diverged: !!known && i >= shared.generated,
  }));
  return columns;
}

/** The cell of one column in one MoE layer; `steered` says which marks apply (removed experts only when steered). */
export function routingCell(column: TokenColumn, layer: number, k: number, mark: MaskLookup, steered: boolean): RoutingCell {
  const r = column.routing?.find((x) => x.layer === layer);
  const chips = r ? r.experts.map((expert, j) => ({ expert, weight: r.weights[j], mark: mark(layer, expert) })) : [];
  let removed: RoutingCell['removed'] = null;
  if (steered && column.reference) {
    const base = column.reference.find((x) => x.layer === layer);
    removed = [];
    if (base) base.experts.forEach((expert, j) => mark(layer, expert) === 'off' && removed!.push({ expert, weight: base.weights[j] }));
  }
  return { chips, dropped: r ? Math.max(0, k - r.experts.length) : 0, removed };
}

/** First and one-past-last index of fixed-size items visible in a scrolled window, with `overscan` items either side. */
export function visibleRange(scroll: number, viewport: number, size: number, count: number, overscan = 2): [number, number] {
  const start = Math.max(0, Math.floor(scroll / size) - overscan);
  const end = Math.min(count, Math.ceil((scroll + viewport) / size) + overscan);
  return [Math.min(start, end), end];
}

/** A token's text with whitespace made visible (· for a space, ⏎ for a newline, → for a tab). */
export const visibleToken = (t: string) => (t === '' ? '∅' : t.replace(/\n/g, '⏎').replace(/\t/g, '→').replace(/ /g, '·'));
