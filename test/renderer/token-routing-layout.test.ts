import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExpertMask, TokenRouting } from '../../engine/protocol/types.ts';
import type { GenerationTrace } from '../../renderer/state/datasets.ts';
import { placeTooltip } from '../../renderer/components/place-tooltip.ts';
import {
  maskLookup, routingCell, sharedContext, traceColumns, visibleRange, visibleToken,
} from '../../renderer/token-routing/token-routing-layout.ts';

const MASK: ExpertMask = {
  mode: 'backfill', forceWeight: 'natural',
  entries: [{ layer: 0, expert: 3, state: 'off' }, { layer: 2, expert: 5, state: 'forced' }, { layer: 2, expert: 1, state: 'off' }],
};
/** Routing of one token over MoE layers 0 and 2: [experts, weights] per layer. */
const r = (l0: [number[], number[]], l2: [number[], number[]]): TokenRouting[] =>
  [{ layer: 0, experts: l0[0], weights: l0[1] }, { layer: 2, experts: l2[0], weights: l2[1] }];

const trace = (mask: ExpertMask, promptIds: number[], ids: number[], routing: TokenRouting[][], promptRouting: TokenRouting[][]): GenerationTrace => ({
  mask,
  prompt: { ids: promptIds, tokens: promptIds.map((id) => `p${id}`), routing: promptRouting },
  ids,
  tokens: ids.map((id) => `t${id}`),
  routing,
});

const baseline = trace({ ...MASK, entries: [] }, [7, 8], [20, 21, 22], [
  r([[3, 4], [0.6, 0.4]], [[1, 2], [0.7, 0.3]]),
  r([[4, 6], [0.5, 0.5]], [[2, 1], [0.6, 0.4]]),
  r([[3, 6], [0.9, 0.1]], [[0, 2], [0.8, 0.2]]),
], [
  r([[3, 9], [0.8, 0.2]], [[1, 5], [0.5, 0.5]]),
  r([[9, 4], [0.7, 0.3]], [[2, 4], [0.9, 0.1]]),
]);
const steered = trace(MASK, [7, 8], [20, 25, 22], [
  r([[4, 9], [0.6, 0.4]], [[5, 2], [0.3, 0.7]]),
  r([[4, 6], [0.5, 0.5]], [[5, 2], [0.2, 0.8]]),
  r([[6, 4], [0.9, 0.1]], [[5, 0], [0.5, 0.5]]),
], [
  r([[9, 4], [0.8, 0.2]], [[5, 2], [0.5, 0.5]]),
  r([[9, 4], [0.7, 0.3]], [[5, 4], [0.9, 0.1]]),
]);

describe('token routing layout', () => {
  it('looks experts up in the mask', () => {
    const mark = maskLookup(MASK);
    assert.equal(mark(0, 3), 'off');
    assert.equal(mark(2, 5), 'forced');
    assert.equal(mark(2, 3), 'normal', 'a state belongs to its layer');
  });

  it('shares the context while the prompt and every token up to the position agree', () => {
    assert.deepEqual(sharedContext(steered, baseline), { prompt: true, generated: 1 });
    assert.deepEqual(sharedContext(steered, trace(MASK, [7, 9], [20], [], [])), { prompt: false, generated: 0 });
    assert.equal(sharedContext(steered, { ...baseline, prompt: null }), null, 'no prompt yet: nothing is known');
  });

  it('lays out prompt then generated columns, with the baseline only where contexts agree', () => {
    const cols = traceColumns(steered, { prompt: true, reference: baseline });
    assert.deepEqual(cols.map((c) => [c.pos, c.text, c.prompt, c.generated, c.diverged]), [
      [0, 'p7', true, -1, false], [1, 'p8', true, -1, false],
      [2, 't20', false, 0, false], [3, 't25', false, 1, true], [4, 't22', false, 2, true],
    ]);
    assert.deepEqual(cols.map((c) => c.reference), [baseline.prompt!.routing![0], baseline.prompt!.routing![1], baseline.routing[0], null, null],
      'token 2 is t22 in both, but after different tokens: no reference');
    const unknown = traceColumns(steered, { prompt: true, reference: { ...baseline, prompt: null } });
    assert.deepEqual(unknown.map((c) => [c.diverged, c.reference]), Array(5).fill([false, null]), 'baseline prompt unknown: neither shared nor diverged');
        const generatedOnly = traceColumns(steered, { prompt: false });
    assert.deepEqual(generatedOnly.map((c) => [c.pos, c.generated, c.diverged, c.reference]), [[2, 0, false, null], [3, 1, false, null], [4, 2, false, null]]);
  });

  it('marks forced and off experts and lists the off experts the baseline used at the same context', () => {
    const mark = maskLookup(MASK);
    const cols = traceColumns(steered, { prompt: true, reference: baseline });
    assert.deepEqual(routingCell(cols[0], 0, 2, mark, true), {
      chips: [{ expert: 9, weight: 0.8, mark: 'normal' }, { expert: 4, weight: 0.2, mark: 'normal' }], dropped: 0, removed: [{ expert: 3, weight: 0.8 }],
    });
    assert.deepEqual(routingCell(cols[0], 2, 2, mark, true), {
      chips: [{ expert: 5, weight: 0.5, mark: 'forced' }, { expert: 2, weight: 0.5, mark: 'normal' }], dropped: 0, removed: [{ expert: 1, weight: 0.5 }],
    });
    assert.deepEqual(routingCell(cols[1], 2, 2, mark, true).removed, [], 'the baseline chose no off expert there');
    assert.equal(routingCell(cols[3], 0, 2, mark, true).removed, null, 'diverged: nothing to compare with');
    // The baseline seen through the steered run's mask: its off experts are marked where it used them.
    const base = traceColumns(baseline, { prompt: false });
    assert.deepEqual(routingCell(base[0], 0, 2, mark, false), {
      chips: [{ expert: 3, weight: 0.6, mark: 'off' }, { expert: 4, weight: 0.4, mark: 'normal' }], dropped: 0, removed: null,
    });
  });

  it('counts slots left empty (drop mode) and copes with a token without routing', () => {
    const mark = maskLookup(MASK);
    const t = { ...steered, routing: [[{ layer: 0, experts: [4], weights: [1] }], null] };
    const cols = traceColumns(t, { prompt: false });
    assert.deepEqual(routingCell(cols[0], 0, 2, mark, true), { chips: [{ expert: 4, weight: 1, mark: 'normal' }], dropped: 1, removed: null });
    assert.deepEqual(routingCell(cols[1], 0, 2, mark, true), { chips: [], dropped: 0, removed: null });
  });

  it('finds the items in view, with overscan, clamped to the list', () => {
    assert.deepEqual(visibleRange(0, 300, 100, 50, 0), [0, 3]);
    assert.deepEqual(visibleRange(250, 300, 100, 50, 2), [0, 8]);
    assert.deepEqual(visibleRange(4800, 300, 100, 50, 2), [46, 50]);
    assert.deepEqual(visibleRange(0, 300, 100, 0, 2), [0, 0]);
  });

  it('keeps a tooltip inside the viewport', () => {
    const viewport = { width: 1000, height: 700 };
    const tip = { width: 300, height: 120 };
    const place = (left: number, top: number) => placeTooltip({ left, top, right: left + 60, bottom: top + 40 }, tip, viewport);
    assert.deepEqual(place(100, 100), { left: 100, top: 146 }, 'below, left-aligned, when it fits');
    assert.deepEqual(place(900, 100), { left: 660, top: 146 }, 'right-aligned with the anchor near the right edge');
    assert.deepEqual(place(100, 620), { left: 100, top: 494 }, 'above near the bottom edge');
    const huge = placeTooltip({ left: 10, top: 10, right: 20, bottom: 20 }, { width: 2000, height: 2000 }, viewport);
    assert.deepEqual(huge, { left: 8, top: 8 }, 'larger than the viewport: pinned to the top-left margin');
    for (let x = 0; x < 1000; x += 37) {
      for (let y = 0; y < 700; y += 29) {
        const p = place(x, y);
        assert.ok(p.left >= 8 && p.left + tip.width <= 992 && p.top >= 8 && p.top + tip.height <= 692, `anchor at ${x},${y}: ${JSON.stringify(p)}`);
      }
    }
  });

  it('shows whitespace in token text', () => {
    assert.equal(visibleToken(' the\n'), '·the⏎');
    assert.equal(visibleToken(''), '∅');
  });
});
