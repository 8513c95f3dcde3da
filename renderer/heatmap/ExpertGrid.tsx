import { useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { colorLut, type CellValues, type ColorScale } from './color.ts';
import { GridAxes } from './GridAxes.tsx';
import { cellAt, gridLayout, type GridLayout } from './grid-layout.ts';
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
export function ExpertGrid({ testId, layers, experts, values, scale, dimmed = null, marks, selected = null, tooltip, onCellClick, maxPlotHeight }: Props) {
  const [boxRef, width] = useWidth<HTMLDivElement>();
  const cellsRef = useRef<HTMLCanvasElement>(null);
  const marksRef = useRef<HTMLCanvasElement>(null);
  const overlayRef = useRef<HTMLCanvasElement>(null);
  const [marksDirty] = useState(() => new DirtyRects());
  const [overlayDirty] = useState(() => new DirtyRects());
  const [hover, setHover] = useState<(Cell & { px: number; py: number }) | null>(null);
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

  useLayoutEffect(() => {
    if (layout) paintOverlay(sizeCanvas(overlayRef.current!, layout, dpr, overlayDirty), layout, hover, selected, overlayDirty);
  }, [layout, hover?.row, hover?.col, selected?.row, selected?.col, dpr, overlayDirty]);

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

  const style = layout ? { width: layout.width, height: layout.height } : undefined;
  const flip = hover && layout && hover.px > layout.width - 260;
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
          />
          {hover && (
            <div className="tooltip" style={{ top: hover.py + 16, left: flip ? undefined : hover.px + 16, right: flip ? layout.width - hover.px + 16 : undefined }}>
              {tooltip(hover)}
            </div>
          )}
        </>
      )}
    </div>
  );
}
