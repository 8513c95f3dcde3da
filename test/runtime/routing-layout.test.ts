import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SequenceRouting } from '../../engine/runtime/routing-layout.ts';

describe('sequence routing layout', () => {
  it('lays layer-major steps out token-major, in step order', () => {
    // 2 layers, k 2, 3 experts; a 2-token prefill then a 1-token step. Values encode (token, layer, slot).
    const step = (tokens: number, first: number) => {
      const selected = new Int32Array(2 * tokens * 2);
      const weights = new Float32Array(selected.length);
      const routerLogits = new Float32Array(2 * tokens * 3);
      for (let l = 0; l < 2; l++) for (let t = 0; t < tokens; t++) {
        for (let j = 0; j < 2; j++) {
          selected[(l * tokens + t) * 2 + j] = 100 * (first + t) + 10 * l + j;
          weights[(l * tokens + t) * 2 + j] = (100 * (first + t) + 10 * l + j) / 1000;
        }
        for (let e = 0; e < 3; e++) routerLogits[(l * tokens + t) * 3 + e] = 100 * (first + t) + 10 * l + e;
      }
      return { layers: [0, 1], tokens, selected, weights, routerLogits };
    };
    const routing = new SequenceRouting(2, 2, 3, true);
    routing.append(step(2, 0));
    routing.append(step(1, 2));
    const { selected, weights, routerLogits } = routing.toArrays();
    const want: number[] = [];
    const wantLogits: number[] = [];
    for (let t = 0; t < 3; t++) for (let l = 0; l < 2; l++) {
      for (let j = 0; j < 2; j++) want.push(100 * t + 10 * l + j);
      for (let e = 0; e < 3; e++) wantLogits.push(100 * t + 10 * l + e);
    }
    assert.deepEqual([...selected], want);
    assert.deepEqual([...weights].map((w) => Math.round(w * 1000)), want);
    assert.deepEqual([...routerLogits!], wantLogits);
    assert.equal(new SequenceRouting(2, 2, 3, false).toArrays().routerLogits, undefined);
  });
});
