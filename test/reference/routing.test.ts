import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_FORCE_EPSILON, type ExpertMask, type MaskEntry } from '../../engine/steering/mask.ts';
import { routeToken, steeringByLayer, type LayerRouter, type LayerSteering, type RouterRule } from './routing.ts';

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

function router(rule: RouterRule, correctionBias?: number[]): LayerRouter {
  return { rule, topK: 2, correctionBias: correctionBias && Float64Array.from(correctionBias) };
}

const SOFTMAX = router({ kind: 'softmax-top-k', normalize: false });
const SOFTMAX_NORMALISED = router({ kind: 'softmax-top-k', normalize: true });

function assertClose(actual: number[], expected: number[]) {
  assert.equal(actual.length, expected.length);
  actual.forEach((value, i) => assert.ok(Math.abs(value - expected[i]) < 1e-12, `${actual} vs ${expected}`));
}

describe('routeToken: softmax → top-k → weights, under steering', () => {
  it('without a mask: top-k by logit, ties to the lower index; renormalised only when asked', () => {
    const raw = routeToken(SOFTMAX, LOGITS);
    assert.deepEqual(raw.selected, [1, 3]);
    assertClose(raw.weights, softmaxAt([...LOGITS], [1, 3]));
    assertClose(routeToken(SOFTMAX_NORMALISED, LOGITS).weights, [0.5, 0.5]);
  });

  it('backfill: off experts are skipped, forced ones come first (in mask order) and the best others fill the rest', () => {
    assert.deepEqual(routeToken(SOFTMAX, LOGITS, steering('backfill', [{ expert: 1, state: 'off' }])).selected, [3, 2]);
    const forced = steering('backfill', [{ expert: 1, state: 'off' }, { expert: 4, state: 'forced' }]);
    assert.deepEqual(routeToken(SOFTMAX, LOGITS, forced).selected, [4, 3]);
    const twoForced = steering('backfill', [{ expert: 4, state: 'forced' }, { expert: 2, state: 'forced' }]);
    assert.deepEqual(routeToken(SOFTMAX, LOGITS, twoForced).selected, [4, 2], 'forced in mask order');
  });

  it('drop: the router’s own top-k keeps its slots; off experts lose theirs, possibly all of them', () => {
    assert.deepEqual(routeToken(SOFTMAX_NORMALISED, LOGITS, steering('drop', [{ expert: 1, state: 'off' }])).selected, [3]);
    const none = routeToken(SOFTMAX_NORMALISED, LOGITS, steering('drop', [{ expert: 1, state: 'off' }, { expert: 3, state: 'off' }]));
    assert.deepEqual(none, { selected: [], weights: [] });
  });

  it('drop with forced experts: the forced take the last slots of the original top-k, then off experts drop out', () => {
    assert.deepEqual(routeToken(SOFTMAX, LOGITS, steering('drop', [{ expert: 4, state: 'forced' }])).selected, [4, 1]);
    assert.deepEqual(routeToken(SOFTMAX, LOGITS, steering('drop', [{ expert: 3, state: 'forced' }])).selected, [3, 1]);
    const offAndForced = steering('drop', [{ expert: 1, state: 'off' }, { expert: 4, state: 'forced' }]);
    assert.deepEqual(routeToken(SOFTMAX, LOGITS, offAndForced).selected, [4]);
  });

  it('forced weights: natural uses the expert’s own score, max raises its logit to the top logit + ε first', () => {
    const natural = routeToken(SOFTMAX_NORMALISED, LOGITS, steering('backfill', [{ expert: 0, state: 'forced' }]));
    assert.deepEqual(natural.selected, [0, 1]);
    assertClose(natural.weights, [Math.exp(0) / (Math.exp(0) + Math.exp(3)), Math.exp(3) / (Math.exp(0) + Math.exp(3))]);

    const raised = [3 + MAX_FORCE_EPSILON, 3, 1, 3, -1];
    const max = routeToken(SOFTMAX, LOGITS, steering('backfill', [{ expert: 0, state: 'forced' }], 'max'));
    assert.deepEqual(max.selected, [0, 1]);
    assertClose(max.weights, softmaxAt(raised, [0, 1]));
  });
});

/** A layer's steering without going through a mask (models of other expert counts than MODEL's). */
function layerSteering(mode: ExpertMask['mode'], off: number[], forced: number[] = [], forceWeight: ExpertMask['forceWeight'] = 'natural'): LayerSteering {
  return { mode, forceWeight, off: new Set(off), forced };
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

describe('routeToken: top-k logits → softmax over them (gpt-oss, Granite-MoE)', () => {
  const rule = router({ kind: 'top-k-softmax' });

  it('weights are the softmax of the selected logits; in drop mode of the surviving ones', () => {
    assert.deepEqual(routeToken(rule, LOGITS), { selected: [1, 3], weights: [0.5, 0.5] });
    assert.deepEqual(routeToken(rule, LOGITS, steering('drop', [{ expert: 1, state: 'off' }])), { selected: [3], weights: [1] });
  });

  it('max: the forced expert weighs as the top logit + ε', () => {
    const max = routeToken(rule, LOGITS, steering('backfill', [{ expert: 4, state: 'forced' }], 'max'));
    assert.deepEqual(max.selected, [4, 1]);
    assertClose(max.weights, softmaxAt([3 + MAX_FORCE_EPSILON, 3], [0, 1]));
  });
});

describe('routeToken: DeepSeek-V2 (softmax, greedy or group-limited by group max, × routed_scaling_factor)', () => {
  // Three groups of two; group 0 has the best expert, group 1 the best pair.
  const logits = Float64Array.of(2, 0, 1.5, 1.4, 0, 0);
  const p = (e: number) => softmaxAt([...logits], [e])[0];
  const grouped = router({ kind: 'deepseek-v2', groups: { count: 3, kept: 1 }, scaling: 2 });

  it('greedy takes the top-k p; group-limited first keeps the groups of largest max p; no renormalisation', () => {
    assert.deepEqual(routeToken(router({ kind: 'deepseek-v2', groups: null, scaling: 2 }), logits).selected, [0, 2]);
    const route = routeToken(grouped, logits);
    assert.deepEqual(route.selected, [0, 1]);
    assertClose(route.weights, [2 * p(0), 2 * p(1)]);
  });

  it('backfill scores groups over their candidates only; off experts stay in the softmax denominator', () => {
    const route = routeToken(grouped, logits, layerSteering('backfill', [0]));
    assert.deepEqual(route.selected, [2, 3]);
    assertClose(route.weights, [2 * p(2), 2 * p(3)]);
  });

  it('drop selects as if nothing were off, then drops the off experts', () => {
    assert.deepEqual(routeToken(grouped, logits, layerSteering('drop', [0])).selected, [1]);
  });
});

describe('routeToken: DeepSeek-V3 noaux_tc (sigmoid, biased selection, group score = sum of the top two)', () => {
  // Two groups of three. By the group max, group 0 (b = 0.95) would win; by the sum of its two best, group 1.
  const logits = Float64Array.of(0, -2, -2, 1, 0.5, -2);
  const bias = [0.45, 0, 0, 0, 0, 0];
  const rule = router({ kind: 'deepseek-v3', groups: { count: 2, kept: 1 }, normalize: true, scaling: 2.5 }, bias);
  const normalised = (...s: number[]) => s.map((v) => (2.5 * v) / (s.reduce((a, b) => a + b, 0) + 1e-20));

  it('selects on s + bias inside the kept groups; weighs the unbiased s, normalised, times the scaling', () => {
    const route = routeToken(rule, logits);
    assert.deepEqual(route.selected, [3, 4]);
    assertClose(route.weights, normalised(sigmoid(1), sigmoid(0.5)));
    const ungrouped = router({ kind: 'deepseek-v3', groups: { count: 1, kept: 1 }, normalize: false, scaling: 1 }, bias);
    assertClose(routeToken(ungrouped, logits).weights, [sigmoid(0), sigmoid(1)]);
  });

  it('a forced expert is no candidate: it neither counts toward its group nor needs it kept', () => {
    const route = routeToken(rule, logits, layerSteering('backfill', [], [0]));
    assert.deepEqual(route.selected, [0, 3]);
    assertClose(route.weights, normalised(sigmoid(0), sigmoid(1)));
  });

  it('backfill: a group left with one candidate scores that one; drop: the survivors are renormalised', () => {
    assert.deepEqual(routeToken(rule, logits, layerSteering('backfill', [3, 4])).selected, [0, 1]);
    assert.deepEqual(routeToken(rule, logits, layerSteering('drop', [3])), { selected: [4], weights: [2.5] });
  });

  it('max: the forced expert weighs sigmoid(top logit + ε)', () => {
    const route = routeToken(rule, logits, layerSteering('backfill', [], [1], 'max'));
    assertClose(route.weights, normalised(sigmoid(1 + MAX_FORCE_EPSILON), sigmoid(1)));
  });
});

describe('routeToken: PhiMoE sparsemixer (eval), slot by slot', () => {
  const rule = router({ kind: 'sparsemixer', jitterEps: 0.01 });
  // Slot 1: expert 0 alone within 2ε of it; slot 2: expert 1, with expert 2 within 2ε (relative) of it.
  const logits = Float64Array.of(2, 1, 0.995, 0, -1);
  const shared = Math.exp(1) / (Math.exp(1) + Math.exp(0.995));

  it('HF: each slot weighs softmax over the unused experts not masked relative to its own logit', () => {
    const route = routeToken(rule, logits);
    assert.deepEqual(route.selected, [0, 1]);
    assertClose(route.weights, [1, shared]);
  });

  it('backfill removes off experts from every pool; drop keeps the unsteered weights of the surviving slots', () => {
    assert.deepEqual(routeToken(rule, logits, layerSteering('backfill', [2])), { selected: [0, 1], weights: [1, 1] });
    const backfill = routeToken(rule, logits, layerSteering('backfill', [0]));
    assert.deepEqual(backfill.selected, [1, 2]);
    assertClose(backfill.weights, [shared, 1]);
    const drop = routeToken(rule, logits, layerSteering('drop', [0]));
    assert.deepEqual(drop.selected, [1]);
    assertClose(drop.weights, [shared]);
  });

  it('forced experts take the first slots in mask order, each weighed over the experts no earlier slot took', () => {
    const softmaxOver = (z: number, pool: number[]) => Math.exp(z) / pool.reduce((sum, e) => sum + Math.exp(logits[e]), 0);
    // Nothing lies relatively far below a negative logit; expert 4 lies far below expert 3's 0.
    const fourThenThree = routeToken(rule, logits, layerSteering('backfill', [], [4, 3]));
    assert.deepEqual(fourThenThree.selected, [4, 3]);
    assertClose(fourThenThree.weights, [softmaxOver(-1, [0, 1, 2, 3, 4]), softmaxOver(0, [0, 1, 2, 3])]);
    const threeThenFour = routeToken(rule, logits, layerSteering('backfill', [], [3, 4]));
    assert.deepEqual(threeThenFour.selected, [3, 4]);
    assertClose(threeThenFour.weights, [softmaxOver(0, [0, 1, 2, 3]), softmaxOver(-1, [0, 1, 2, 4])]);
  });

  it('a forced expert takes slot 1, its weight relative to its own logit; max raises that logit first', () => {
    const natural = routeToken(rule, logits, layerSteering('backfill', [], [3]));
    assert.deepEqual(natural.selected, [3, 0]);
    const upToZero = [2, 1, 0.995, 0].reduce((sum, z) => sum + Math.exp(z), 0);
    assertClose(natural.weights, [1 / upToZero, 1]);
    const max = routeToken(rule, logits, layerSteering('backfill', [], [3], 'max'));
    assertClose(max.weights, [Math.exp(2.01) / (Math.exp(2.01) + Math.exp(2)), 1]);
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
