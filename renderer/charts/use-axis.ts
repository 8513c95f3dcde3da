import { select, type Axis, type NumberValue } from 'd3';
import { useEffect, useRef } from 'react';

/** A <g> ref that d3 draws `axis` into whenever it changes. */
export function useAxis<D extends NumberValue | string>(axis: Axis<D>) {
  const ref = useRef<SVGGElement>(null);
  useEffect(() => {
    if (ref.current) select(ref.current).call(axis);
  }, [axis]);
  return ref;
}
