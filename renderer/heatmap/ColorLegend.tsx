import { axisBottom, scaleLinear, select } from 'd3';
import { useEffect, useId, useRef } from 'react';
import type { ColorScale } from './color.ts';

const W = 220;
const BAR = 10;
const PAD = 30;

/** Colour bar with a d3 axis; diverging scales show their 0 in the middle. */
export function ColorLegend({ scale, testId }: { scale: ColorScale; testId?: string }) {
  const axisRef = useRef<SVGGElement>(null);
  const gradientId = `legend-${useId().replace(/[^\w-]/g, '')}`;
  useEffect(() => {
    const x = scaleLinear().domain(scale.domain).range([0, W]);
    const ticks = scale.kind === 'diverging' ? [scale.domain[0], 0, scale.domain[1]] : x.ticks(4);
    select(axisRef.current!).call(axisBottom(x).tickValues(ticks).tickFormat((v) => (+v === 0 ? '0' : scale.format(+v))).tickSize(4).tickSizeOuter(0));
  }, [scale]);
  const stops = Array.from({ length: 11 }, (_, i) => i / 10);
  return (
    <figure className="legend" data-testid={testId}>
      <figcaption>{scale.label}</figcaption>
      <svg width={W + 2 * PAD} height={BAR + 22}>
        <defs>
          <linearGradient id={gradientId}>
            {stops.map((t) => <stop key={t} offset={t} stopColor={scale.interpolator(t)} />)}
          </linearGradient>
        </defs>
        <g transform={`translate(${PAD},0)`}>
          <rect width={W} height={BAR} fill={`url(#${gradientId})`} />
          <g ref={axisRef} transform={`translate(0,${BAR})`} />
        </g>
      </svg>
    </figure>
  );
}
