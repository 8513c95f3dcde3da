import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { benjaminiHochberg, fisherExactP, rateDifferenceP, twoProportionP, wilsonInterval } from '../../engine/analysis/statistics.ts';

const close = (a: number, b: number, tol: number) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe('statistics', () => {
  it("Fisher's exact test matches R's fisher.test on textbook tables", () => {
    // Lady tasting tea: fisher.test(matrix(c(3,1,1,3),2)) → p = 0.4857
    close(fisherExactP(3, 1, 1, 3), 0.4857143, 1e-6);
    // fisher.test(matrix(c(1,9,11,3),2)) → p = 0.002759
    close(fisherExactP(1, 11, 9, 3), 0.002759456, 1e-8);
    close(fisherExactP(5, 5, 5, 5), 1, 1e-12);
  });

  it('two-proportion z-test matches prop.test without continuity correction', () => {
    // prop.test(c(45, 30), c(100, 100), correct = FALSE) → X-squared = 4.8, p = 0.02846
    close(twoProportionP(45, 100, 30, 100), 0.02845974, 1e-6);
    assert.equal(twoProportionP(0, 0, 3, 10), 1);
    assert.equal(twoProportionP(0, 10, 0, 10), 1);
  });

  it('rate difference test uses Fisher on small margins and z on large ones', () => {
    assert.equal(rateDifferenceP(3, 10, 1, 10).test, 'fisher');
    const big = rateDifferenceP(5000, 10000, 4800, 10000);
    assert.equal(big.test, 'z');
    close(big.p, twoProportionP(5000, 10000, 4800, 10000), 0);
  });

  it('Benjamini–Hochberg matches p.adjust(method = "BH")', () => {
    // p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.5), "BH") → 0.025 0.05 0.05 0.025 0.5
    const q = benjaminiHochberg([0.01, 0.04, 0.03, 0.005, 0.5]);
    [0.025, 0.05, 0.05, 0.025, 0.5].forEach((v, i) => close(q[i], v, 1e-12));
  });

  it("Wilson intervals match Newcombe's (1998) published score intervals", () => {
    // Newcombe, Statistics in Medicine 17:857–872, Table I, method 3 (score interval without continuity correction).
    const published: [number, number, number, number][] = [[81, 263, 0.2553, 0.3662], [15, 148, 0.0624, 0.1605], [0, 20, 0, 0.1611], [1, 29, 0.0061, 0.1718]];
    for (const [hits, n, low, high] of published) {
      const [l, h] = wilsonInterval(hits, n)!;
      close(l, low, 5e-5);
      close(h, high, 5e-5);
    }
  });

  it('Wilson interval bounds are the roots of (p̂ − p)² = z²·p(1 − p)/n', () => {
    const z = 1.959963984540054;
    for (const [hits, n] of [[0, 1], [1, 1], [3, 7], [12, 12], [50, 100], [999, 1000]]) {
      const [l, h] = wilsonInterval(hits, n)!;
      const f = (p: number) => (hits / n - p) ** 2 - (z * z * p * (1 - p)) / n;
      // At 0 or n hits one bound is 0 or 1 exactly (a root there too); the other solves the quadratic.
      close(f(l), 0, 1e-12);
      close(f(h), 0, 1e-12);
      assert.ok(l <= hits / n && hits / n <= h);
    }
    assert.deepEqual(wilsonInterval(0, 20)!.map((v) => Math.max(0, v))[0], 0);
    assert.equal(wilsonInterval(0, 0), null);
  });
});
