/** Tests for comparing activation rates between two groups, and multiple-testing correction. */

/** Complementary error function (Numerical Recipes erfcc; |relative error| < 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

/** Two-sided p-value of the pooled two-proportion z-test for hitsA/nA vs hitsB/nB. */
export function twoProportionP(hitsA: number, nA: number, hitsB: number, nB: number): number {
  if (nA === 0 || nB === 0) return 1;
  const pooled = (hitsA + hitsB) / (nA + nB);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / nA + 1 / nB));
  if (se === 0) return 1;
  const z = (hitsA / nA - hitsB / nB) / se;
  return Math.min(1, erfc(Math.abs(z) / Math.SQRT2));
}

const logFactorialCache: number[] = [0];
function logFactorial(n: number): number {
  for (let i = logFactorialCache.length; i <= n; i++) logFactorialCache[i] = logFactorialCache[i - 1] + Math.log(i);
  return logFactorialCache[n];
}

/** Two-sided Fisher exact test on the 2×2 table [[a, b], [c, d]] (sum of the tables no more likely than this one). */
export function fisherExactP(a: number, b: number, c: number, d: number): number {
  const row1 = a + b;
  const col1 = a + c;
  const n = a + b + c + d;
  const logP = (x: number) => logFactorial(row1) + logFactorial(n - row1) + logFactorial(col1) + logFactorial(n - col1) -
    logFactorial(n) - logFactorial(x) - logFactorial(row1 - x) - logFactorial(col1 - x) - logFactorial(n - row1 - col1 + x);
  const observed = logP(a);
  let p = 0;
  for (let x = Math.max(0, row1 + col1 - n); x <= Math.min(row1, col1); x++) {
    const lp = logP(x);
    if (lp <= observed + 1e-7) p += Math.exp(lp);
  }
  return Math.min(1, p);
}

/** Fisher's exact test while the smaller margin is small enough to sum exactly, else the z-test. */
const FISHER_MAX_MARGIN = 2000;

export function rateDifferenceP(hitsA: number, nA: number, hitsB: number, nB: number): { p: number; test: 'fisher' | 'z' } {
  if (Math.min(nA, nB, hitsA + hitsB, nA + nB - hitsA - hitsB) <= FISHER_MAX_MARGIN) {
    return { p: fisherExactP(hitsA, nA - hitsA, hitsB, nB - hitsB), test: 'fisher' };
  }
  return { p: twoProportionP(hitsA, nA, hitsB, nB), test: 'z' };
}

/** Benjamini–Hochberg adjusted p-values (q-values), in the input order. */
export function benjaminiHochberg(pValues: number[]): number[] {
  const m = pValues.length;
  const order = [...pValues.keys()].sort((i, j) => pValues[i] - pValues[j]);
  const q = new Array<number>(m);
  let running = 1;
  for (let r = m - 1; r >= 0; r--) {
    const i = order[r];
    running = Math.min(running, (pValues[i] * m) / (r + 1));
    q[i] = running;
  }
  return q;
}

/**
 * Wilson score interval for a proportion hits/n (Wilson 1927; R's prop.test without continuity correction,
 * statsmodels' proportion_confint(method='wilson')): center ± half-width over 1 + z²/n. z = 1.959964 gives 95 %.
 * Stays inside [0, 1] and is not degenerate at 0 or n hits, unlike the Wald interval. Null when n = 0.
 */
export function wilsonInterval(hits: number, n: number, z = 1.959963984540054): [number, number] | null {
  if (n === 0) return null;
  const p = hits / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  return [Math.max(0, center - half), Math.min(1, center + half)];
}
