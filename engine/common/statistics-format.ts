/**
 * How statistics are written for people, the same in the command line, the app and figures. Machine-readable
 * outputs (CSV, --json) carry the full float64 value instead.
 */

/**
 * A p- or q-value: four decimals from 1e-4 up, else two significant digits ("1.8e-104"). Zero means the value
 * underflowed float64 where it was computed (a Fisher or z-test tail below ~5e-324), so it is written as a bound.
 * NaN (no test) is an en dash.
 */
export function formatP(p: number): string {
  if (Number.isNaN(p)) return '–';
  if (p === 0) return '< 1e-300';
  if (p < 1e-4) return p.toExponential(1);
  return p.toFixed(4);
}

/** A signed score (MoTE share difference, risk difference), three decimals with an ASCII sign: "+0.530", "-0.070". */
export function formatScore(v: number): string {
  if (Number.isNaN(v)) return '–';
  const text = v.toFixed(3);
  // -0.0004 rounds to "-0.000": no sign on a zero.
  if (/^-?0\.000$/.test(text)) return '0.000';
  return v > 0 ? `+${text}` : text;
}

/** A significance level as users pick it: 0.05, 0.01, 0.001. */
export const ALPHAS = [0.1, 0.05, 0.01, 0.001] as const;
export const DEFAULT_ALPHA = 0.05;
