/** Above this many cells the LCS table is skipped and tokens are compared position by position. */
const MAX_CELLS = 4_000_000;

/**
 * Token positions of `a` and `b` outside their longest common subsequence: the tokens that differ, with insertions
 * and deletions not shifting everything after them into "different".
 */
export function changedTokens(a: readonly number[], b: readonly number[]): { a: Set<number>; b: Set<number> } {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_CELLS) {
    const diff = (xs: readonly number[], ys: readonly number[]) => new Set(xs.flatMap((x, i) => (ys[i] === x ? [] : [i])));
    return { a: diff(a, b), b: diff(b, a) };
  }
  const w = m + 1;
  const len = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      len[i * w + j] = a[i] === b[j] ? len[(i + 1) * w + j + 1] + 1 : Math.max(len[(i + 1) * w + j], len[i * w + j + 1]);
    }
  }
  const onlyA = new Set<number>();
  const onlyB = new Set<number>();
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      i++;
      j++;
    } else if (len[(i + 1) * w + j] >= len[i * w + j + 1]) {
      onlyA.add(i++);
    } else {
      onlyB.add(j++);
    }
  }
  while (i < n) onlyA.add(i++);
  while (j < m) onlyB.add(j++);
  return { a: onlyA, b: onlyB };
}
