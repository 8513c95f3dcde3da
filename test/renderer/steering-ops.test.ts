import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExpertMask, RecordedPrompt } from '../../engine/protocol/types.ts';
import { gridKeyStep } from '../../renderer/heatmap/grid-keys.ts';
import { setExpertState, topNForced } from '../../renderer/state/mask-ops.ts';
import { suggestedTopN } from '../../renderer/state/top-n.ts';
import { classOutcomes } from '../../renderer/views/probes/run-outcomes.ts';

const empty: ExpertMask = { mode: 'drop', forceWeight: 'max', entries: [] };

describe('Force top N', () => {
  it('forces the top N in rank order, at most k per layer, and says which layers had more', () => {
    const ranked = [[0, 3], [1, 5], [0, 7], [0, 1], [2, 2], [1, 6], [1, 9], [0, 4]].map(([layer, expert]) => ({ layer, expert }));
    const { mask, notice } = topNForced(empty, ranked, 7, 2);
    assert.deepEqual(mask.entries.map((e) => [e.layer, e.expert, e.state]), [[0, 3, 'forced'], [1, 5, 'forced'], [0, 7, 'forced'], [2, 2, 'forced'], [1, 6, 'forced']]);
    assert.deepEqual([mask.mode, mask.forceWeight], ['drop', 'max'], 'mode and weighting kept');
    assert.equal(notice, 'Forced 5 of the top 7: at most k = 2 experts can be forced per layer (layers 0, 1 had more).');
    assert.equal(topNForced(empty, ranked, 2, 2).notice, null);
  });

  it('sets one expert in one step, refusing a (k+1)-th forced expert in a layer', () => {
    let mask = setExpertState(empty, 1, 4, 'off', 2).mask;
    mask = setExpertState(mask, 1, 5, 'forced', 2).mask;
    mask = setExpertState(mask, 1, 4, 'forced', 2).mask;
    assert.deepEqual(mask.entries, [{ layer: 1, expert: 4, state: 'forced' }, { layer: 1, expert: 5, state: 'forced' }], 'an entry keeps its place');
    const refused = setExpertState(mask, 1, 6, 'forced', 2);
    assert.equal(refused.mask, mask);
    assert.match(refused.notice!, /^Layer 1 already has 2 forced experts/);
    assert.deepEqual(setExpertState(mask, 1, 4, 'normal', 2).mask.entries, [{ layer: 1, expert: 5, state: 'forced' }]);
  });
});

describe('default N of top N', () => {
  const ranking = (qs: number[]) => ({ target: 'refused', q: Float32Array.from(qs) });
  it('counts experts with q below 0.05, caps at 32, and falls back to 10 when none is significant', () => {
    assert.deepEqual(suggestedTopN(ranking([0.001, 0.049, 0.05, 0.3, NaN])), { n: 2, basis: '2 experts have q < 0.05 for refused' });
    assert.deepEqual(suggestedTopN(ranking([0.01])), { n: 1, basis: '1 expert has q < 0.05 for refused' });
    assert.deepEqual(suggestedTopN(ranking(new Array(40).fill(0.001))), { n: 32, basis: '40 experts have q < 0.05 for refused; N capped at 32' });
    assert.equal(suggestedTopN(ranking([0.2, 0.9])).n, 10);
    assert.match(suggestedTopN(ranking([0.2])).basis, /no expert has q < 0.05/);
    assert.equal(suggestedTopN(undefined).n, 10);
  });
});

describe('heatmap keys', () => {
  it('moves by arrows, Home and End, clamped to the grid', () => {
    assert.deepEqual(gridKeyStep('ArrowRight', { row: 0, col: 15 }, 4, 16), { row: 0, col: 15 });
    assert.deepEqual(gridKeyStep('ArrowDown', { row: 2, col: 5 }, 4, 16), { row: 3, col: 5 });
    assert.deepEqual(gridKeyStep('ArrowUp', { row: 0, col: 5 }, 4, 16), { row: 0, col: 5 });
    assert.deepEqual(gridKeyStep('End', { row: 1, col: 2 }, 4, 16), { row: 1, col: 15 });
    assert.deepEqual(gridKeyStep('Home', { row: 1, col: 2 }, 4, 16), { row: 1, col: 0 });
    assert.equal(gridKeyStep('Enter', { row: 1, col: 2 }, 4, 16), null);
  });
});

describe('run outcomes', () => {
  const p = (idx: number, cls: string, label: string | null, correct: boolean | null = null): RecordedPrompt => ({ idx, class: cls, text: '', outputText: '', label, correct });
  it('counts verdicts per class: class labels first, then other labels, then no verdict', () => {
    const { verdicts, rows } = classOutcomes([
      p(0, 'refused', 'refused'), p(1, 'refused', 'answered'), p(2, 'refused', 'refused'),
      p(3, 'answered', 'answered', true), p(4, 'answered', 'unsure', false), p(5, 'answered', null),
    ], ['refused', 'answered', 'unused']);
    assert.deepEqual(verdicts, ['refused', 'answered', 'unsure', null]);
    assert.deepEqual(rows.map((r) => [r.class, r.prompts, [...r.counts.values()], r.answered, r.correct]), [
      ['refused', 3, [2, 1, 0, 0], 0, 0], ['answered', 3, [0, 1, 1, 1], 2, 1], ['unused', 0, [0, 0, 0, 0], 0, 0],
    ]);
  });
});
