/** Significance level the default N of "top N" counts experts at: Benjamini–Hochberg q below it. */
export const TOP_N_ALPHA = 0.05;
/** Most experts the default N takes, however many are significant. */
export const TOP_N_CAP = 32;
/** N when the ranking has no significant expert (or there is no ranking). */
const TOP_N_FALLBACK = 10;

/** The default N of "top N": experts of the ranking with q < α, at most TOP_N_CAP; and what it is based on. */
export function suggestedTopN(r: { q: ArrayLike<number>; target: string } | undefined): { n: number; basis: string } {
  if (!r) return { n: TOP_N_FALLBACK, basis: `no ranking yet: N = ${TOP_N_FALLBACK}` };
  let significant = 0;
  for (let i = 0; i < r.q.length; i++) if (r.q[i] < TOP_N_ALPHA) significant++;
  if (significant === 0) return { n: TOP_N_FALLBACK, basis: `no expert has q < ${TOP_N_ALPHA} for ${r.target}: N = ${TOP_N_FALLBACK} is arbitrary` };
  if (significant > TOP_N_CAP) return { n: TOP_N_CAP, basis: `${significant} experts have q < ${TOP_N_ALPHA} for ${r.target}; N capped at ${TOP_N_CAP}` };
  return { n: significant, basis: `${significant} expert${significant === 1 ? ' has' : 's have'} q < ${TOP_N_ALPHA} for ${r.target}` };
}
