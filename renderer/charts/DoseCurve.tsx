import { axisBottom, axisLeft, format, line, scaleLinear } from 'd3';
import { useMemo } from 'react';
import { useAxis } from './use-axis.ts';

export interface Series {
  name: string;
  color: string;
  dashed?: boolean;
  points: { x: number; y: number | null }[];
}

const W = 460;
const H = 230;
const M = { top: 14, right: 14, bottom: 44, left: 44 };

/** Rates against the number of mask entries applied (0 = no mask). Null points break the line. */
export function DoseCurve({ series, testId }: { series: Series[]; testId: string }) {
  const maxX = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.x)));
  const x = useMemo(() => scaleLinear().domain([0, maxX]).range([M.left, W - M.right]), [maxX]);
  const y = useMemo(() => scaleLinear().domain([0, 1]).range([H - M.bottom, M.top]), []);
  const xAxis = useAxis(useMemo(() => axisBottom(x).ticks(Math.min(maxX, 8)).tickFormat(format('d')).tickSizeOuter(0), [x, maxX]));
  const yAxis = useAxis(useMemo(() => axisLeft(y).ticks(5).tickFormat(format('.0%')).tickSize(-(W - M.left - M.right)), [y]));
  const path = line<{ x: number; y: number | null }>().defined((p) => p.y !== null).x((p) => x(p.x)).y((p) => y(p.y ?? 0));
  return (
    <figure className="chart">
      <svg width={W} height={H} data-testid={testId} role="img" aria-label="dose-response">
        <g ref={yAxis} className="grid-axis" transform={`translate(${M.left},0)`} />
        <g ref={xAxis} transform={`translate(0,${H - M.bottom})`} />
        <text className="axis-title" x={M.left + (W - M.left - M.right) / 2} y={H - 8} textAnchor="middle">mask entries applied (in mask order)</text>
        {series.map((s) => (
          <g key={s.name}>
            <path d={path(s.points) ?? ''} fill="none" stroke={s.color} strokeWidth={2} strokeDasharray={s.dashed ? '5 4' : undefined} />
            {s.points.filter((p) => p.y !== null).map((p) => (
              <circle key={p.x} cx={x(p.x)} cy={y(p.y!)} r={3} fill={s.color}>
                <title>{`${s.name}, ${p.x} entries: ${format('.1%')(p.y!)}`}</title>
              </circle>
            ))}
          </g>
        ))}
      </svg>
      <figcaption className="chart-key">
        {series.map((s) => (
          <span key={s.name}><i style={{ background: s.color }} />{s.name}</span>
        ))}
      </figcaption>
    </figure>
  );
}
