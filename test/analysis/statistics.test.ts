import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { benjaminiHochberg, fisherExactP, rateDifferenceP, twoProportionP } from '../../engine/analysis/statistics.ts';

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
});
