import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SOFTMAX_ROUTER } from '../../engine/model/families/family.ts';
import { selectExperts } from '../../engine/runtime/router-selection.ts';

describe('unsteered expert selection on the host', () => {
  const logits = Float32Array.from([0.5, 2, -1, 2, 1, /* row 2 */ 3, 0, 0, 0, 0]);

  it('takes the k largest best first, the lower index winning ties, with softmax weights over all experts', () => {
    const { selected, weights } = selectExperts({ numExperts: 5, topK: 3, normTopkProb: false, router: SOFTMAX_ROUTER }, logits);
    assert.deepEqual([...selected], [1, 3, 4, 0, 1, 2]);
    const z1 = [0.5, 2, -1, 2, 1].map(Math.exp);
    const s1 = z1.reduce((a, b) => a + b);
    const z2 = [3, 0, 0, 0, 0].map(Math.exp);
    const s2 = z2.reduce((a, b) => a + b);
    const want = [z1[1] / s1, z1[3] / s1, z1[4] / s1, z2[0] / s2, z2[1] / s2, z2[2] / s2];
    weights.forEach((w, i) => assert.ok(Math.abs(w - want[i]) < 1e-6, `weight ${i}: ${w} vs ${want[i]}`));
  });

  it('renormalises over the k when norm_topk_prob is set', () => {
    const { weights } = selectExperts({ numExperts: 5, topK: 2, normTopkProb: true, router: SOFTMAX_ROUTER }, logits);
    assert.ok(Math.abs(weights[0] - 0.5) < 1e-6 && Math.abs(weights[1] - 0.5) < 1e-6, 'two equal logits share the weight');
    assert.ok(Math.abs(weights[2] + weights[3] - 1) < 1e-6);
    assert.ok(Math.abs(weights[2] - Math.exp(3) / (Math.exp(3) + 1)) < 1e-6);
  });

  it('scales the weights by the router scaling (DeepSeek-V2 greedy)', () => {
    const plain = selectExperts({ numExperts: 5, topK: 3, normTopkProb: false, router: SOFTMAX_ROUTER }, logits);
    const scaled = selectExperts({ numExperts: 5, topK: 3, normTopkProb: false, router: { ...SOFTMAX_ROUTER, scaling: 2.5 } }, logits);
    assert.deepEqual([...scaled.selected], [...plain.selected]);
    scaled.weights.forEach((w, i) => assert.ok(Math.abs(w - 2.5 * plain.weights[i]) < 1e-6));
  });
});
