import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_FORCE_EPSILON, type ExpertMask, type MaskEntry } from '../../engine/steering/mask.ts';
import { routeToken, steeringByLayer, type LayerSteering } from './routing.ts';

const MODEL = { moeLayers: [0, 2], numExperts: 5, topK: 2 };
/** Experts 1 and 3 tie for the top logit. */
const LOGITS = Float64Array.of(0, 3, 1, 3, -1);

function steering(mode: ExpertMask['mode'], entries: Omit<MaskEntry, 'layer'>[], forceWeight: ExpertMask['forceWeight'] = 'natural') {
  const mask: ExpertMask = { mode, forceWeight, entries: entries.map((e) => ({ ...e, layer: 0 })) };
  return steeringByLayer(mask, MODEL).get(0) as LayerSteering;
}

function softmaxAt(logits: number[], experts: number[]): number[] {
  const total = logits.reduce((sum, z) => sum + Math.exp(z), 0);
  return experts.map((e) => Math.exp(logits[e]) / total);
}

function assertClose(actual: number[], expected: number[]) {
  assert.equal(actual.length, expected.length);
  actual.forEach((value, i) => assert.ok(Math.abs(value - expected[i]) < 1e-12, `${actual} vs ${expected}`));
}

describe('routeToken: softmax → top-k → weights, under steering', () => {
  it('without a mask: top-k by logit, ties to the lower index; renormalised only when asked', () => {
    const raw = routeToken(LOGITS, 2, false, undefined);
    assert.deepEqual(raw.selected, [1, 3]);
    assertClose(raw.weights, softmaxAt([...LOGITS], [1, 3]));
    assertClose(routeToken(LOGITS, 2, true, undefined).weights, [0.5, 0.5]);
  });

  it('backfill: off experts are skipped, forced ones come first and the best others fill the rest', () => {
    assert.deepEqual(routeToken(LOGITS, 2, false, steering('backfill', [{ expert: 1, state: 'off' }])).selected, [3, 2]);
    const forced = steering('backfill', [{ expert: 1, state: 'off' }, { expert: 4, state: 'forced' }]);
    assert.deepEqual(routeToken(LOGITS, 2, false, forced).selected, [4, 3]);
  });

  it('drop: the router’s own top-k keeps its slots; off experts lose theirs, possibly all of them', () => {
    assert.deepEqual(routeToken(LOGITS, 2, true, steering('drop', [{ expert: 1, state: 'off' }])).selected, [3]);
    const none = routeToken(LOGITS, 2, true, steering('drop', [{ expert: 1, state: 'off' }, { expert: 3, state: 'off' }]));
    assert.deepEqual(none, { selected: [], weights: [] });
  });

  it('drop with forced experts: the forced take the last slots of the original top-k, then off experts drop out', () => {
    assert.deepEqual(routeToken(LOGITS, 2, false, steering('drop', [{ expert: 4, state: 'forced' }])).selected, [4, 1]);
    assert.deepEqual(routeToken(LOGITS, 2, false, steering('drop', [{ expert: 3, state: 'forced' }])).selected, [3, 1]);
    const offAndForced = steering('drop', [{ expert: 1, state: 'off' }, { expert: 4, state: 'forced' }]);
    assert.deepEqual(routeToken(LOGITS, 2, false, offAndForced).selected, [4]);
  });

  it('forced weights: natural uses the expert’s own score, max raises its logit to the top logit + ε first', () => {
    const natural = routeToken(LOGITS, 2, true, steering('backfill', [{ expert: 0, state: 'forced' }]));
    assert.deepEqual(natural.selected, [0, 1]);
    assertClose(natural.weights, [Math.exp(0) / (Math.exp(0) + Math.exp(3)), Math.exp(3) / (Math.exp(0) + Math.exp(3))]);

    const raised = [3 + MAX_FORCE_EPSILON, 3, 1, 3, -1];
    const max = routeToken(LOGITS, 2, false, steering('backfill', [{ expert: 0, state: 'forced' }], 'max'));
    assert.deepEqual(max.selected, [0, 1]);
    assertClose(max.weights, softmaxAt(raised, [0, 1]));
  });
});

describe('steeringByLayer rejects masks the model cannot honour', () => {
  const mask = (entries: MaskEntry[]): ExpertMask => ({ mode: 'backfill', forceWeight: 'natural', entries });

  it('more forced experts than k in a layer', () => {
    const entries: MaskEntry[] = [0, 1, 2].map((expert) => ({ layer: 2, expert, state: 'forced' }));
    assert.throws(() => steeringByLayer(mask(entries), MODEL), /layer 2 forces 3 experts but only 2/);
  });

  it('a dense layer, an unknown expert, or one expert given twice', () => {
    assert.throws(() => steeringByLayer(mask([{ layer: 1, expert: 0, state: 'off' }]), MODEL), /not a MoE layer/);
    assert.throws(() => steeringByLayer(mask([{ layer: 0, expert: 5, state: 'off' }]), MODEL), /expert 5 of 5/);
    const twice: MaskEntry[] = [{ layer: 0, expert: 3, state: 'off' }, { layer: 0, expert: 3, state: 'forced' }];
    assert.throws(() => steeringByLayer(mask(twice), MODEL), /expert 3 twice/);
  });
});
