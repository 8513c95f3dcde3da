import { useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { createPortal } from 'react-dom';
import { placeTooltip } from './place-tooltip.ts';

/**
 * A tooltip fixed to the viewport beside an anchor rectangle (viewport coordinates), measured after each render and
 * moved so it never leaves the window: it is portalled to <body>, so no scrolling or clipping ancestor cuts it off.
 */
export function FloatingTooltip({ anchor, children, testId, className = '' }: {
  /** The anchor's current rectangle, or null when it is gone. */
  anchor: () => { left: number; top: number; right: number; bottom: number } | null;
  children: ReactNode;
  testId?: string;
  className?: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const [pos, setPos] = useState<{ left: number; top: number } | null>(null);
  useLayoutEffect(() => {
    const rect = anchor();
    const tip = ref.current;
    if (!rect || !tip) return setPos(null);
    const next = placeTooltip(rect, { width: tip.offsetWidth, height: tip.offsetHeight }, { width: window.innerWidth, height: window.innerHeight });
    setPos((p) => (p && p.left === next.left && p.top === next.top ? p : next));
  });
  return createPortal(
    <div
      ref={ref}
      className={`tooltip floating-tooltip ${className}`.trim()}
      role="tooltip"
      data-testid={testId}
      style={{ left: pos?.left ?? 0, top: pos?.top ?? 0, visibility: pos ? 'visible' : 'hidden' }}
    >
      {children}
    </div>,
    document.body,
  );
}
