import { axisBottom, axisLeft, select } from 'd3';
import { memo, useEffect, useRef } from 'react';
import { tickStep, type GridLayout } from './grid-layout.ts';

/** d3 axes in an SVG laid over the cells canvas: experts along the bottom, decoder-layer indices down the left. */
export const GridAxes = memo(function GridAxes({ layout: g, layers }: { layout: GridLayout; layers: number[] }) {
  const xRef = useRef<SVGGElement>(null);
  const yRef = useRef<SVGGElement>(null);
  useEffect(() => {
    const xStep = tickStep(g.cellW, 26);
    const yStep = tickStep(g.cellH, 13, [1, 2, 4, 5, 10, 20]);
    const xs = Array.from({ length: Math.ceil(g.cols / xStep) }, (_, i) => i * xStep);
    const ys = Array.from({ length: Math.ceil(g.rows / yStep) }, (_, i) => i * yStep);
    select(xRef.current!).call(
      axisBottom(g.x).tickValues(xs.map((c) => c + 0.5)).tickFormat((v) => String(Math.floor(+v))).tickSizeOuter(0),
    );
    select(yRef.current!).call(
      axisLeft(g.y).tickValues(ys.map((r) => r + 0.5)).tickFormat((v) => String(layers[Math.floor(+v)])).tickSizeOuter(0),
    );
  }, [g, layers]);
  return (
    <svg className="grid-axes" width={g.width} height={g.height} aria-hidden="true">
      <g ref={xRef} transform={`translate(0,${g.y(g.rows)})`} />
      <g ref={yRef} transform={`translate(${g.x(0)},0)`} />
      <text className="axis-title" x={g.x(0) + g.plotW / 2} y={g.height - 3} textAnchor="middle">expert</text>
      <text className="axis-title" transform={`translate(13,${g.y(0) + g.plotH / 2}) rotate(-90)`} textAnchor="middle">layer</text>
    </svg>
  );
});
