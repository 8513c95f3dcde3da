import { memo, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { ExpertMask } from '../../../engine/protocol/types.ts';
import { FloatingTooltip } from '../../components/FloatingTooltip.tsx';
import type { GenerationTrace } from '../../state/datasets.ts';
import {
  maskLookup, routingCell, traceColumns, visibleRange, visibleToken, type MaskLookup, type RoutingCell, type TokenColumn,
} from '../../token-routing/token-routing-layout.ts';

const COL_W = 66;
const LABEL_W = 44;
const HEADER_H = 40;
const CHIP_H = 15;
const CELL_PAD = 6;
const MAX_HEIGHT = 520;

const fmtWeight = (w: number) => (w < 1 ? w.toFixed(2).replace(/^0/, '') : w.toFixed(2));

interface Props {
  testId: string;
  trace: GenerationTrace | null;
  /** The baseline of a steered trace: where contexts agree, cells list the off experts it chose (removed). */
  reference?: GenerationTrace | null;
  /** True for output generated under `mask`; false for a baseline, marked with the mask it is compared to. */
  steered: boolean;
  mask: ExpertMask;
  layers: number[];
  k: number;
  /** Changes whenever the trace grows (traces are mutated in place as tokens stream). */
  version: number;
}

/**
 * Token × layer routing of one generation: a column per token (prompt tokens optional), a row per MoE layer, each cell
 * the experts the token went to with their mixing weights, marked by the mask. Cells are DOM (text, focus, test
 * attributes) but only those in view are mounted. The grid is one tab stop; arrow keys move the active cell.
 */
export function TokenRoutingView({ testId, trace, reference = null, steered, mask, layers, k, version }: Props) {
  const [showPrompt, setShowPrompt] = useState(false);
  const columns = useMemo(() => (trace ? traceColumns(trace, { prompt: showPrompt, reference: steered ? reference : null }) : []),
    // Traces grow in place: version says when.
    [trace, reference, steered, showPrompt, version]);
  const mark = useMemo(() => maskLookup(mask), [mask]);
  if (!trace) return <p className="hint" data-testid={`${testId}-empty`}>No generation yet.</p>;
  const hasReference = steered && columns.some((c) => c.reference);
  const forced = mask.entries.filter((e) => e.state === 'forced').length;
  const off = mask.entries.length - forced;
  return (
    <div className="token-routing" data-testid={testId} data-view={steered ? 'steered' : 'baseline'} data-columns={columns.length}>
      <div className="tr-bar">
        <Legend steered={steered} hasReference={hasReference} diverged={columns.some((c) => c.diverged)} />
        <label className="check">
          <input type="checkbox" checked={showPrompt} onChange={(e) => setShowPrompt(e.target.checked)} data-testid={`${testId}-prompt`} />
          prompt tokens{trace.prompt ? ` (${trace.prompt.ids.length})` : ''}
        </label>
      </div>
      <p className="hint">
        {trace.tokens.length} generated tokens × {layers.length} MoE layers, top-{k} experts each, best first; bar length = mixing weight.
        {' '}{steered ? `Mask of this run: ${off} off, ${forced} forced (${mask.mode}, ${mask.forceWeight} weight).` : `Marked with the steered run's mask (${off} off, ${forced} forced).`}
        {steered && reference && columns.some((c) => c.diverged) && ` The output departs from the baseline at token ${columns.find((c) => c.diverged)!.generated}: from there the contexts differ and removed experts are not shown.`}
        {steered && reference && !showPrompt && trace.prompt && ' Show the prompt tokens to see what the mask removed from their routing.'}
      </p>
      {columns.length === 0 ? <p className="hint">Waiting for tokens…</p> : (
        <Grid testId={testId} columns={columns} layers={layers} k={k} mark={mark} steered={steered} hasReference={hasReference} />
      )}
    </div>
  );
}

function Legend({ steered, hasReference, diverged }: { steered: boolean; hasReference: boolean; diverged: boolean }) {
  return (
    <div className="tr-legend" data-testid="token-routing-legend">
      <span className="mark-key"><span className="tr-chip tr-key"><span className="tr-e">E5</span><span className="tr-w">.42</span></span> expert · weight</span>
      <span className="mark-key"><span className="tr-chip tr-key forced"><span className="tr-e">E9</span></span> forced by the mask</span>
      <span className="mark-key">
        <span className="tr-chip tr-key off"><span className="tr-e">E3</span></span>
        {steered ? ' off in the mask (should never run)' : ' off in the mask: steering removes it'}
      </span>
      {steered && hasReference && <span className="mark-key"><span className="tr-removed tr-key">−E3</span> removed: the baseline used it here</span>}
      <span className="mark-key"><span className="tr-chip tr-key dropped">—</span> slot left empty (drop mode)</span>
      {diverged && <span className="mark-key"><span className="tr-diverged-key" /> context differs from the baseline</span>}
    </div>
  );
}

interface Active {
  col: number;
  row: number;
}

function Grid({ testId, columns, layers, k, mark, steered, hasReference }: {
  testId: string;
  columns: TokenColumn[];
  layers: number[];
  k: number;
  mark: MaskLookup;
  steered: boolean;
  hasReference: boolean;
}) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ left: 0, top: 0, width: 800, height: MAX_HEIGHT });
  const [active, setActive] = useState<Active>({ col: 0, row: 0 });
  const [hover, setHover] = useState<Active | null>(null);
  const [focused, setFocused] = useState(false);
  const rowH = CELL_PAD + (k + (hasReference ? 1 : 0)) * CHIP_H;
  const width = LABEL_W + columns.length * COL_W;
  const bodyH = layers.length * rowH;
  const clampedActive = { col: Math.min(active.col, columns.length - 1), row: Math.min(active.row, layers.length - 1) };

  useLayoutEffect(() => {
    const el = scrollRef.current!;
    const measure = () => setView({ left: el.scrollLeft, top: el.scrollTop, width: el.clientWidth, height: el.clientHeight });
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    let frame = 0;
    const onScroll = () => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(measure);
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    return () => {
      ro.disconnect();
      cancelAnimationFrame(frame);
      el.removeEventListener('scroll', onScroll);
    };
  }, []);

  const [c0, c1] = visibleRange(Math.max(0, view.left), Math.max(0, view.width - LABEL_W), COL_W, columns.length);
  const [r0, r1] = visibleRange(Math.max(0, view.top), Math.max(0, view.height - HEADER_H), rowH, layers.length, 1);
  const cellId = (col: number, row: number) => `${testId}-cell-${col}-${row}`;

  /** Scrolls the container so the cell is fully visible (beside the sticky header and labels). */
  const reveal = (col: number, row: number) => {
    const el = scrollRef.current!;
    const x = col * COL_W;
    const y = row * rowH;
    if (x < el.scrollLeft) el.scrollLeft = x;
    else if (x + COL_W > el.scrollLeft + el.clientWidth - LABEL_W) el.scrollLeft = x + COL_W - (el.clientWidth - LABEL_W);
    if (y < el.scrollTop) el.scrollTop = y;
    else if (y + rowH > el.scrollTop + el.clientHeight - HEADER_H) el.scrollTop = y + rowH - (el.clientHeight - HEADER_H);
  };
  const onKey = (e: React.KeyboardEvent) => {
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1],
      Home: [-columns.length, 0], End: [columns.length, 0], PageUp: [0, -layers.length], PageDown: [0, layers.length],
    };
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    const next = {
      col: Math.max(0, Math.min(columns.length - 1, clampedActive.col + m[0])),
      row: Math.max(0, Math.min(layers.length - 1, clampedActive.row + m[1])),
    };
    setActive(next);
    setHover(null);
    reveal(next.col, next.row);
  };

  const shown = hover ?? (focused ? clampedActive : null);
  // A row per layer in view; `display: contents` keeps the cells placed in the plane while ARIA sees rows.
  const rows = [];
  for (let r = r0; r < r1; r++) {
    const cells = [];
    for (let c = c0; c < c1; c++) {
      cells.push(
        <Cell
          key={columns[c].pos}
          id={cellId(c, r)}
          col={c}
          row={r}
          column={columns[c]}
          layer={layers[r]}
          k={k}
          mark={mark}
          steered={steered}
          height={rowH}
          divider={startsResponse(columns, c)}
          active={focused && c === clampedActive.col && r === clampedActive.row}
          onHover={setHover}
        />,
      );
    }
    rows.push(<div key={layers[r]} role="row" aria-rowindex={r + 2} aria-label={`layer ${layers[r]}`} className="tr-row">{cells}</div>);
  }
  return (
    <>
      <div
        ref={scrollRef}
        className="tr-scroll"
        style={{ maxHeight: Math.min(MAX_HEIGHT, HEADER_H + bodyH + 16) }}
        role="grid"
        aria-label="Routing per token and layer"
        aria-rowcount={layers.length + 1}
        aria-colcount={columns.length}
        aria-activedescendant={focused ? cellId(clampedActive.col, clampedActive.row) : undefined}
        tabIndex={0}
        onKeyDown={onKey}
        onFocus={() => setFocused(true)}
        onBlur={() => setFocused(false)}
        onMouseLeave={() => setHover(null)}
        data-testid={`${testId}-grid`}
      >
        <div className="tr-header" style={{ width, height: HEADER_H }}>
          <div className="tr-corner" style={{ width: LABEL_W, height: HEADER_H }}>layer</div>
          <div className="tr-plane" style={{ width: width - LABEL_W, height: HEADER_H }} role="row" aria-rowindex={1}>
            {columns.slice(c0, c1).map((col, i) => (
              <div
                key={col.pos}
                className={`tr-token${col.prompt ? ' prompt' : ''}${col.diverged ? ' diverged' : ''}${startsResponse(columns, c0 + i) ? ' first-generated' : ''}`}
                style={{ left: (c0 + i) * COL_W, width: COL_W, height: HEADER_H }}
                title={`${col.prompt ? 'prompt token' : 'generated token'} ${col.prompt ? col.pos : col.generated}: “${visibleToken(col.text)}”${col.diverged ? ' — context differs from the baseline' : ''}`}
                role="columnheader"
                aria-colindex={c0 + i + 1}
                data-testid="token-routing-token"
                data-pos={col.pos}
                data-token={col.text}
              >
                <span className="tr-index">{col.prompt ? `p${col.pos}` : col.generated}</span>
                <span className="tr-text">{visibleToken(col.text)}</span>
              </div>
            ))}
          </div>
        </div>
        <div className="tr-body" style={{ width, height: bodyH }}>
          <div className="tr-labels" style={{ width: LABEL_W, height: bodyH }}>
            {layers.map((layer) => <div key={layer} className="tr-layer" style={{ height: rowH }}>L{layer}</div>)}
          </div>
          <div className="tr-plane" style={{ width: width - LABEL_W, height: bodyH }}>{rows}</div>
        </div>
      </div>
      {shown && shown.col < columns.length && (
        <CellTooltip
          anchorId={cellId(shown.col, shown.row)}
          column={columns[shown.col]}
          layer={layers[shown.row]}
          cell={routingCell(columns[shown.col], layers[shown.row], k, mark, steered)}
          steered={steered}
        />
      )}
    </>
  );
}

/** One token in one layer; memoised, so scrolling mounts only the cells that come into view. */
const Cell = memo(function Cell({ id, col, row, column, layer, k, mark, steered, height, divider, active, onHover }: {
  id: string;
  col: number;
  row: number;
  column: TokenColumn;
  layer: number;
  k: number;
  mark: MaskLookup;
  steered: boolean;
  height: number;
  /** The first generated token after shown prompt tokens. */
  divider: boolean;
  active: boolean;
  onHover(at: Active): void;
}) {
  const cell = routingCell(column, layer, k, mark, steered);
  return (
    <div
      id={id}
      role="gridcell"
      aria-colindex={col + 1}
      aria-label={`${column.prompt ? 'prompt token' : 'token'} “${visibleToken(column.text)}”, layer ${layer}: ${cell.chips.map((x) => `expert ${x.expert} ${fmtWeight(x.weight)}${x.mark === 'normal' ? '' : ` ${MARK_TEXT[x.mark]}`}`).join(', ')}${cell.removed?.length ? `; removed ${cell.removed.map((x) => `expert ${x.expert}`).join(', ')}` : ''}`}
      className={`tr-cell${column.prompt ? ' prompt' : ''}${divider ? ' first-generated' : ''}${active ? ' active' : ''}`}
      style={{ left: col * COL_W, top: row * height, width: COL_W, height }}
      onMouseEnter={() => onHover({ col, row })}
      data-testid="token-routing-cell"
      data-pos={column.pos}
      data-generated={column.generated}
      data-layer={layer}
      data-experts={cell.chips.map((c) => c.expert).join(' ')}
      data-removed={cell.removed?.map((r) => r.expert).join(' ')}
    >
      {cell.chips.map((c) => (
        <div
          key={c.expert}
          className={`tr-chip ${c.mark}`}
          style={{ '--w': `${Math.min(100, c.weight * 100)}%` } as React.CSSProperties}
          data-expert={c.expert}
          data-mark={c.mark}
        >
          <span className="tr-e">E{c.expert}</span>
          <span className="tr-w">{fmtWeight(c.weight)}</span>
        </div>
      ))}
      {Array.from({ length: cell.dropped }, (_, i) => <div key={`d${i}`} className="tr-chip dropped" title="slot left empty">—</div>)}
      {cell.removed && cell.removed.length > 0 && (
        <div className="tr-removed">{cell.removed.map((r) => `−E${r.expert}`).join(' ')}</div>
      )}
    </div>
  );
});

const startsResponse = (columns: TokenColumn[], c: number) => c > 0 && columns[c - 1].prompt && !columns[c].prompt;

const MARK_TEXT = { normal: '', forced: 'forced', off: 'off in the mask' } as const;

/** The focused or hovered cell's experts in full; fixed to the viewport and kept inside it. */
function CellTooltip({ anchorId, column, layer, cell, steered }: { anchorId: string; column: TokenColumn; layer: number; cell: RoutingCell; steered: boolean }) {
  return (
    <FloatingTooltip anchor={() => document.getElementById(anchorId)?.getBoundingClientRect() ?? null} testId="token-routing-tooltip" className="tr-tooltip">
      <div className="tt-title">“{visibleToken(column.text)}” · {column.prompt ? `prompt token ${column.pos}` : `generated token ${column.generated}`} · layer {layer}</div>
      <table>
        <tbody>
          {cell.chips.map((c) => (
            <tr key={c.expert}>
              <th>expert {c.expert}</th>
              <td>{c.weight.toFixed(3)}</td>
              <td className={c.mark === 'normal' ? 'muted' : `tt-mark ${c.mark}`}>{MARK_TEXT[c.mark]}</td>
            </tr>
          ))}
          {cell.dropped > 0 && <tr><th>dropped</th><td>{cell.dropped} slot{cell.dropped > 1 ? 's' : ''}</td><td /></tr>}
        </tbody>
      </table>
      {cell.removed && (
        <div className="tt-extra">
          {cell.removed.length === 0
            ? 'The baseline chose no off expert here.'
            : `Removed by the mask (baseline weight): ${cell.removed.map((r) => `expert ${r.expert} (${r.weight.toFixed(3)})`).join(', ')}`}
        </div>
      )}
      {steered && !cell.removed && column.diverged && <div className="tt-extra">Context differs from the baseline here.</div>}
      {!column.routing && <div className="tt-extra">No routing recorded for this token.</div>}
    </FloatingTooltip>
  );
}
