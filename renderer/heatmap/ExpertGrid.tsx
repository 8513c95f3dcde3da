import { useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { colorLut, type CellValues, type ColorScale } from './color.ts';
import { GridAxes } from './GridAxes.tsx';
import { cellAt, gridLayout, type GridLayout } from './grid-layout.ts';
import { gridKeyStep } from './grid-keys.ts';
import { registerGrid } from './grid-registry.ts';
import { DirtyRects, hasSeparators, paintCells, paintMarks, paintOverlay, rasterize, type Mark } from './paint.ts';
import { useWidth } from './use-width.ts';

export interface Cell {
  row: number;
  col: number;
}

interface Props {
  /** Test ids: `${testId}-canvas` (cells bitmap), `${testId}-hit` (pointer target); cell positions via __moteTest.cellCenter. */
  testId: string;
  /** Decoder-layer index of each row. */
  layers: number[];
  experts: number;
  /** [layers × experts] row-major; null paints an empty grid. A new array (identity) triggers a repaint. */
  values: CellValues | null;
  scale: ColorScale;
  /** [layers × experts], 1 = paint the cell faded (e.g. not significant); the count is on the canvas as data-dimmed. */
  dimmed?: Uint8Array | null;
  marks?: ReadonlyMap<number, Mark>;
  selected?: Cell | null;
  tooltip(cell: Cell): ReactNode;
  onCellClick?(cell: Cell): void;
  /** A second action on a cell, in one step: right-click, or F on the keyboard (Steering: force the expert). */
  onCellSecondary?(cell: Cell): void;
  /** Names the grid for screen readers, e.g. "ranking scores". */
  label?: string;
  maxPlotHeight?: number;
}

/** Sizes a full-layout canvas for the device pixel ratio (which clears it, so its dirty list restarts). */
function sizeCanvas(canvas: HTMLCanvasElement, g: GridLayout, dpr: number, dirty: DirtyRects): CanvasRenderingContext2D {
  const w = Math.round(g.width * dpr);
  const h = Math.round(g.height * dpr);
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
    dirty.reset();
  }
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

/**
 * Layer × expert heatmap in layers: the cells as one bitmap of a pixel per cell, scaled by CSS (repainted only when
 * values or colours change); cell separators as a CSS grid; mask marks on a canvas of their own (repainted when the
 * mask changes); d3 axes in SVG; hover and selection on the top canvas, which takes the pointer. Hit-testing inverts
 * the scales.
 */
export function ExpertGrid({ testId, layers, experts, values, scale, dimmed = null, marks, selected = null, tooltip, onCellClick, onCellSecondary, label = 'layer × expert grid', maxPlotHeight }: Props) {
  const [boxRef, width] = useWidth<HTMLDivElement>();
  const cellsRef = useRef<HTMLCanvasElement>(null);
  const marksRef = useRef<HTMLCanvasElement>(null);
  const overlayRef = useRef<HTMLCanvasElement>(null);
  const [marksDirty] = useState(() => new DirtyRects());
  const [overlayDirty] = useState(() => new DirtyRects());
  const [hover, setHover] = useState<(Cell & { px: number; py: number }) | null>(null);
  /** The cell the keyboard is on while the grid has focus (roving focus inside one canvas). */
  const [keyCell, setKeyCell] = useState<Cell | null>(null);
  const dpr = window.devicePixelRatio || 1;
  const layout = useMemo(() => (width > 0 ? gridLayout(width, layers.length, experts, dpr, maxPlotHeight) : null), [width, layers.length, experts, dpr, maxPlotHeight]);
  const lut = useMemo(() => colorLut(scale), [scale]);

  useLayoutEffect(() => {
    if (layout) paintCells(cellsRef.current!, rasterize(values, layers.length, experts, lut, scale.domain, dimmed));
  }, [layout, values, lut, scale.domain, layers.length, experts, dimmed]);
  const dimmedCount = useMemo(() => (dimmed && values ? dimmed.reduce((a, d) => a + d, 0) : 0), [dimmed, values]);

  useLayoutEffect(() => {
    if (layout) paintMarks(sizeCanvas(marksRef.current!, layout, dpr, marksDirty), layout, marks, marksDirty);
  }, [layout, marks, dpr, marksDirty]);

  const shown = hover ?? (keyCell && layout ? { ...keyCell, px: layout.x(keyCell.col) + layout.cellW, py: layout.y(keyCell.row) + layout.cellH } : null);
  useLayoutEffect(() => {
    if (layout) paintOverlay(sizeCanvas(overlayRef.current!, layout, dpr, overlayDirty), layout, shown, selected, overlayDirty);
  }, [layout, shown?.row, shown?.col, selected?.row, selected?.col, dpr, overlayDirty]);

  useEffect(() => (layout && boxRef.current ? registerGrid(testId, { element: boxRef.current, layout, layers }) : undefined), [testId, layout, layers, boxRef]);

  const locate = (e: React.MouseEvent<HTMLCanvasElement>) => {
    const box = e.currentTarget.getBoundingClientRect();
    const px = e.clientX - box.left;
    const py = e.clientY - box.top;
    return layout ? { cell: cellAt(layout, px, py), px, py } : null;
  };
  const onMove = (e: React.MouseEvent<HTMLCanvasElement>) => {
    const at = locate(e);
    setHover((h) => {
      if (!at?.cell) return null;
      if (h && h.row === at.cell.row && h.col === at.cell.col) return h.px === at.px && h.py === at.py ? h : { ...h, px: at.px, py: at.py };
      return { ...at.cell, px: at.px, py: at.py };
    });
  };
  const onClick = (e: React.MouseEvent<HTMLCanvasElement>) => {
    const at = locate(e);
    if (at?.cell) onCellClick?.(at.cell);
  };
  const onContextMenu = (e: React.MouseEvent<HTMLCanvasElement>) => {
    const at = locate(e);
    if (!onCellSecondary || !at?.cell) return;
    e.preventDefault();
    onCellSecondary(at.cell);
  };
  const onKeyDown = (e: React.KeyboardEvent<HTMLCanvasElement>) => {
    const cell = keyCell ?? selected ?? { row: 0, col: 0 };
    const next = gridKeyStep(e.key, cell, layers.length, experts);
    if (next) {
      e.preventDefault();
      setHover(null);
      setKeyCell(next);
    } else if ((e.key === 'Enter' || e.key === ' ') && onCellClick) {
      e.preventDefault();
      onCellClick(cell);
    } else if ((e.key === 'f' || e.key === 'F') && onCellSecondary) {
      e.preventDefault();
      onCellSecondary(cell);
    } else if (e.key === 'Escape') {
      setKeyCell(null);
    }
  };

  const style = layout ? { width: layout.width, height: layout.height } : undefined;
  const flip = shown && layout && shown.px > layout.width - 260;
  const keys = `Arrow keys move between cells${onCellClick ? ', Enter or Space acts on the cell' : ''}${onCellSecondary ? ', F forces it' : ''}.`;
  return (
    <div ref={boxRef} className="expert-grid" style={{ height: layout?.height ?? 200 }}>
      {layout && (
        <>
          <canvas
            ref={cellsRef}
            className="grid-cells"
            data-testid={`${testId}-canvas`}
            data-dimmed={dimmedCount}
            data-cells={values ? layers.length * experts : 0}
            data-domain={scale.domain.join(',')}
            style={{ left: layout.x(0), top: layout.y(0), width: layout.plotW, height: layout.plotH }}
          />
          {hasSeparators(layout) && (
            <div
              className="grid-separators"
              style={{ left: layout.x(0), top: layout.y(0), width: layout.plotW, height: layout.plotH, backgroundSize: `${layout.cellW}px ${layout.cellH}px` }}
            />
          )}
          <canvas ref={marksRef} style={style} />
          <GridAxes layout={layout} layers={layers} />
          <canvas
            ref={overlayRef}
            data-testid={`${testId}-hit`}
            data-layers={layers.join(',')}
            data-experts={experts}
            className={onCellClick ? 'grid-hit clickable' : 'grid-hit'}
            style={style}
            onPointerMove={onMove}
            onPointerLeave={() => setHover(null)}
            onClick={onClick}
            onContextMenu={onContextMenu}
            tabIndex={0}
            role="application"
            aria-roledescription="heatmap"
            aria-label={`${label}: ${layers.length} layers × ${experts} experts. ${keys}`}
            onKeyDown={onKeyDown}
            // Only keyboard focus shows a focused cell: a click focuses the canvas too, and hover shows that cell.
            onFocus={(e) => e.currentTarget.matches(':focus-visible') && setKeyCell((c) => c ?? selected ?? { row: 0, col: 0 })}
            onBlur={() => setKeyCell(null)}
          />
          {shown && (
            <div className="tooltip" style={{ top: shown.py + 16, left: flip ? undefined : shown.px + 16, right: flip ? layout.width - shown.px + 16 : undefined }}>
              {tooltip(shown)}
            </div>
          )}
          <div className="visually-hidden" aria-live="polite" data-testid={`${testId}-focus`} data-row={keyCell?.row} data-col={keyCell?.col}>
            {keyCell ? `layer ${layers[keyCell.row]}, expert ${keyCell.col}` : ''}
          </div>
        </>
      )}
    </div>
  );
}
