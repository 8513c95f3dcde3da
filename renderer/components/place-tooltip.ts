/**
 * Where to put a tooltip of size `tip` next to an `anchor` rectangle so it stays inside the viewport: below and to
 * the right of the anchor when it fits, else above / to the left, and clamped to `margin` from every edge.
 */
export function placeTooltip(
  anchor: { left: number; top: number; right: number; bottom: number },
  tip: { width: number; height: number },
  viewport: { width: number; height: number },
  margin = 8,
  gap = 6,
): { left: number; top: number } {
  const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(v, Math.max(lo, hi)));
  const below = anchor.bottom + gap;
  const above = anchor.top - gap - tip.height;
  const top = below + tip.height <= viewport.height - margin || above < margin ? below : above;
  const right = anchor.left;
  const left = right + tip.width <= viewport.width - margin ? right : anchor.right - tip.width;
  return { left: clamp(left, margin, viewport.width - margin - tip.width), top: clamp(top, margin, viewport.height - margin - tip.height) };
}
