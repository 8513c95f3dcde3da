import { axisBottom, axisLeft, format, scaleBand, scaleLinear } from 'd3';
import { useMemo } from 'react';
import { useAxis } from './use-axis.ts';

export interface Bar {
  name: string;
  value: number | null;
  /** Drawn as a ± error bar. */
  sd?: number;
  /** A 95 % interval [low, high], drawn as an error bar (instead of sd). */
  ci?: [number, number];
  color: string;
}

const W = 460;
const H = 212;
const M = { top: 14, right: 10, bottom: 26, left: 44 };

/** Grouped bars of rates in [0, 1] with optional error bars; a null value is labelled "n/a". */
export function RateBars({ groups, testId }: { groups: { label: string; bars: Bar[] }[]; testId: string }) {
  const x = useMemo(() => scaleBand().domain(groups.map((g) => g.label)).range([M.left, W - M.right]).paddingInner(0.25).paddingOuter(0.1), [groups]);
  const inner = useMemo(() => scaleBand().domain(groups[0]?.bars.map((b) => b.name) ?? []).range([0, x.bandwidth()]).padding(0.12), [groups, x]);
  const y = useMemo(() => scaleLinear().domain([0, 1]).range([H - M.bottom, M.top]), []);
  const xAxis = useAxis(useMemo(() => axisBottom(x).tickSizeOuter(0), [x]));
  const yAxis = useAxis(useMemo(() => axisLeft(y).ticks(5).tickFormat(format('.0%')).tickSize(-(W - M.left - M.right)), [y]));
  return (
    <figure className="chart">
      <svg width={W} height={H} data-testid={testId} role="img" aria-label="behaviour rates">
        <g ref={yAxis} className="grid-axis" transform={`translate(${M.left},0)`} />
        <g ref={xAxis} transform={`translate(0,${H - M.bottom})`} />
        {groups.map((g) =>
          g.bars.map((b) => {
            const bx = x(g.label)! + inner(b.name)!;
            const bw = inner.bandwidth();
            if (b.value === null) {
              return <text key={g.label + b.name} x={bx + bw / 2} y={y(0) - 4} textAnchor="middle" className="chart-note">n/a</text>;
            }
            const [lo, hi] = b.ci ?? (b.sd !== undefined ? [Math.max(0, b.value - b.sd), Math.min(1, b.value + b.sd)] : [b.value, b.value]);
            const spread = b.ci ? ` (95 % CI ${format('.1%')(lo)}–${format('.1%')(hi)})` : b.sd !== undefined ? ` ± ${format('.1%')(b.sd)}` : '';
            const cx = bx + bw / 2;
            return (
              <g key={g.label + b.name}>
                <rect x={bx} y={y(b.value)} width={bw} height={y(0) - y(b.value)} fill={b.color} rx={1.5}>
                  <title>{`${g.label} · ${b.name}: ${format('.1%')(b.value)}${spread}`}</title>
                </rect>
                {hi > lo && <path className="error-bar" d={`M${cx},${y(hi)}V${y(lo)}M${cx - 4},${y(hi)}h8M${cx - 4},${y(lo)}h8`} />}
                <text x={cx} y={Math.min(y(b.value), y(hi)) - 4} textAnchor="middle" className="chart-value">{format('.0%')(b.value)}</text>
              </g>
            );
          }),
        )}
      </svg>
      <figcaption className="chart-key">
        {groups[0]?.bars.map((b) => (
          <span key={b.name}><i style={{ background: b.color }} />{b.name}</span>
        ))}
      </figcaption>
    </figure>
  );
}
