/**
 * Ties in a ranking sorted best first. Experts tie when their scores are equal as stored (float64 equality); a
 * ranking lists tied experts by TIE_ORDER, which is a listing order, not evidence, so a top-N cut through a tie
 * is reported, never made silently.
 */

/** How rankExperts orders experts of equal score. */
export const TIE_ORDER = 'smaller p first, then lower layer, then lower expert';

/** Competition ranks ("1, 2, 2, 4") of scores sorted best first: equal scores share the rank of the first of them. */
export function competitionRanks(sortedScores: ArrayLike<number>): number[] {
  const ranks = new Array<number>(sortedScores.length);
  for (let i = 0; i < sortedScores.length; i++) ranks[i] = i > 0 && sortedScores[i] === sortedScores[i - 1] ? ranks[i - 1] : i + 1;
  return ranks;
}

/** True when another entry shares rank `ranks[i]`. */
export function isTied(ranks: ArrayLike<number>, i: number): boolean {
  return (i > 0 && ranks[i - 1] === ranks[i]) || (i + 1 < ranks.length && ranks[i + 1] === ranks[i]);
}

/** The tie a cut after the first n entries goes through: `size` experts share `rank`, `kept` before the cut. */
export interface CutTie {
  rank: number;
  size: number;
  kept: number;
  left: number;
}

/** The tie the cut after the first n entries splits, or null when it falls between two ranks. */
export function tieAtCut(ranks: ArrayLike<number>, n: number): CutTie | null {
  if (n <= 0 || n >= ranks.length || ranks[n] !== ranks[n - 1]) return null;
  const rank = ranks[n - 1];
  let end = n;
  while (end < ranks.length && ranks[end] === rank) end++;
  return { rank, size: end - (rank - 1), kept: n - (rank - 1), left: end - n };
}

/** How many entries a top-n cut takes when ties at the cut are included: n, or up to the end of the tie. */
export function cutWithTies(ranks: ArrayLike<number>, n: number): number {
  const tie = tieAtCut(ranks, n);
  return tie ? n + tie.left : Math.min(n, ranks.length);
}

/**
 * "5 experts tie at rank 3 (score +1.000); 2 of them were left out by the cut (tied experts are listed by …) — pass
 * --include-ties to include them". `howToInclude` names the switch of the surface the message appears on.
 */
export function describeCutTie(tie: CutTie, score: string, howToInclude: string): string {
  const left = tie.left === 1 ? '1 of them was' : `${tie.left} of them were`;
  return `${tie.size} experts tie at rank ${tie.rank} (score ${score}); ${left} left out by the cut ` +
    `(tied experts are listed by ${TIE_ORDER}) — ${howToInclude} to include them`;
}

/** "5 experts tie at rank 3 (score +1.000): all are included (the cut was widened from 4 to 7)". */
export function describeIncludedTie(tie: CutTie, score: string, asked: number): string {
  return `${tie.size} experts tie at rank ${tie.rank} (score ${score}): all are included (the cut was widened from ${asked} to ${asked + tie.left})`;
}
