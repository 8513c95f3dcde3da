import { useLayoutEffect, useRef, useState } from 'react';
import type { PromptRoutingView } from '../../../engine/protocol/types.ts';
import { ErrorText } from '../../components/ErrorText.tsx';
import { FloatingTooltip } from '../../components/FloatingTooltip.tsx';
import { promptRoutings } from '../../state/datasets.ts';
import { useApp } from '../../state/use-app.ts';

const COL_W = 40;
const LABEL_W = 34;
const MAX_TOKENS = 400;

/**
 * One prompt's routing, token by token: a column per token, a row per MoE layer; inside each cell a small expert
 * axis (0 … E−1) with a tick per selected expert, darker for a larger mixing weight. The expert picked in the
 * heatmap is drawn in the accent colour, so its tokens stand out. Hover a cell for the exact experts and weights.
 */
export function TokenStrip() {
  const { runId, routingIdx, routingError, cell } = useApp((s) => s.imaging);
  const experts = useApp((s) => s.model.info?.experts ?? 0);
  const view = routingIdx === null || runId === null ? undefined : promptRoutings.get(`${runId}|${routingIdx}`);
  if (routingError) return <ErrorText error={routingError} />;
  if (!view) return null;
  return <Strip view={view} experts={experts} highlight={cell} />;
}

function Strip({ view, experts, highlight }: { view: PromptRoutingView; experts: number; highlight: { layer: number; expert: number } | null }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [hover, setHover] = useState<{ t: number; r: number } | null>(null);
  const tokens = Math.min(view.tokens.length, MAX_TOKENS);
  const rows = view.layers.length;
  const rowH = Math.max(5, Math.min(14, Math.floor(420 / rows)));
  const width = LABEL_W + tokens * COL_W;
  const height = rows * rowH;
  const dpr = window.devicePixelRatio || 1;
  const hiRow = highlight ? view.layers.indexOf(highlight.layer) : -1;
  const at = (t: number, r: number, j: number) => (t * rows + r) * view.k + j;

  useLayoutEffect(() => {
    const canvas = canvasRef.current!;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    const ctx = canvas.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = '10px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    ctx.fillStyle = '#59636e';
    const labelStep = Math.ceil(12 / rowH);
    for (let r = 0; r < rows; r += labelStep) ctx.fillText(String(view.layers[r]), 2, r * rowH + rowH / 2);
    for (let t = 0; t < tokens; t++) {
      const x0 = LABEL_W + t * COL_W + 3;
      const w = COL_W - 6;
      ctx.fillStyle = t < view.promptTokens ? '#f1f3f5' : '#eef3fc';
      ctx.fillRect(x0 - 1, 0, w + 2, height);
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < view.k; j++) {
          const e = view.selected[at(t, r, j)];
          if (e < 0) continue;
          const hi = r === hiRow && e === highlight?.expert;
          const weight = view.weights[at(t, r, j)];
          ctx.fillStyle = hi ? '#2456d6' : `rgba(31, 35, 40, ${weight === null ? 0.6 : 0.25 + 0.75 * Math.min(1, weight * 2)})`;
          ctx.fillRect(x0 + (e / Math.max(1, experts - 1)) * (w - (hi ? 3 : 2)), r * rowH + 1, hi ? 3 : 2, rowH - 2);
        }
      }
    }
    if (view.promptTokens > 0 && view.promptTokens < tokens) {
      ctx.fillStyle = '#2456d6';
      ctx.fillRect(LABEL_W + view.promptTokens * COL_W - 1, 0, 2, height);
    }
    if (hover) {
      ctx.strokeStyle = '#2456d6';
      ctx.lineWidth = 1.5;
      ctx.strokeRect(LABEL_W + hover.t * COL_W + 1, hover.r * rowH + 0.75, COL_W - 2, rowH - 1.5);
    }
  }, [view, experts, highlight, width, height, dpr, rowH, rows, tokens, hiRow, hover]);

  const onMove = (e: React.MouseEvent<HTMLCanvasElement>) => {
    const box = e.currentTarget.getBoundingClientRect();
    const x = e.clientX - box.left;
    const y = e.clientY - box.top;
    const t = Math.floor((x - LABEL_W) / COL_W);
    const r = Math.floor(y / rowH);
    setHover((h) => (t >= 0 && t < tokens && r >= 0 && r < rows ? (h?.t === t && h.r === r ? h : { t, r }) : null));
  };
  /** The hovered cell's rectangle in the viewport, from the canvas's. */
  const hoverRect = () => {
    const box = canvasRef.current?.getBoundingClientRect();
    if (!box || !hover) return null;
    const left = box.left + LABEL_W + hover.t * COL_W;
    const top = box.top + hover.r * rowH;
    return { left, top, right: left + COL_W, bottom: top + rowH };
  };

  return (
    <div className="token-strip" data-testid="token-strip">
      <h3>
        Prompt #{view.idx} <span className="class-chip">{view.class}</span>
        <span className="muted"> — {view.tokens.length} tokens ({view.promptTokens} prompt, then the response in blue)</span>
      </h3>
      <ExpertAxisKey experts={experts} k={view.k} highlight={highlight} />
      <div className="strip-scroll">
        <div className="strip-tokens" style={{ width }}>
          <span className="strip-corner" style={{ width: LABEL_W }}>layer</span>
          {view.tokens.slice(0, tokens).map((t, i) => (
            <span key={i} className={i < view.promptTokens ? 'strip-token' : 'strip-token response'} style={{ width: COL_W }} title={t}>{visible(t)}</span>
          ))}
        </div>
        <div className="strip-canvas-box" style={{ width, height }}>
          <canvas ref={canvasRef} style={{ width, height }} onMouseMove={onMove} onMouseLeave={() => setHover(null)} />
          {hover && (
            <FloatingTooltip anchor={hoverRect} testId="token-strip-tooltip">
              <div className="tt-title">“{visible(view.tokens[hover.t])}” · token {hover.t} · layer {view.layers[hover.r]}</div>
              <table>
                <tbody>
                  {Array.from({ length: view.k }, (_, j) => view.selected[at(hover.t, hover.r, j)]).map((ex, j) => (
                    <tr key={j}>
                      <th>{ex < 0 ? 'dropped' : `expert ${ex}`}</th>
                      <td>{ex < 0 ? '' : view.weights[at(hover.t, hover.r, j)]?.toFixed(3) ?? 'weight not recorded'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </FloatingTooltip>
          )}
        </div>
      </div>
      {view.tokens.length > tokens && <p className="hint">Showing the first {tokens} of {view.tokens.length} tokens.</p>}
    </div>
  );
}

/** How to read a cell: a tick per selected expert, placed by expert id along the cell; the picked expert in blue. */
function ExpertAxisKey({ experts, k, highlight }: { experts: number; k: number; highlight: { layer: number; expert: number } | null }) {
  const last = Math.max(1, experts - 1);
  const mid = Math.round(last / 2);
  const at = (e: number) => `${(e / last) * 100}%`;
  return (
    <div className="strip-key" data-testid="token-strip-key">
      <span className="strip-key-figure" aria-hidden="true">
        <span className="strip-key-cell">
          {[0, mid, last].map((e) => <span key={e} className="strip-key-tick" style={{ left: at(e) }} />)}
          {highlight && <span className="strip-key-tick hi" style={{ left: at(highlight.expert) }} />}
        </span>
        <span className="strip-key-scale">
          {[0, mid, last].map((e) => <span key={e} style={{ left: at(e) }}>{e}</span>)}
        </span>
      </span>
      <span className="muted">
        In each cell, a tick per expert the token was sent to ({k} per layer), placed by expert id from 0 (left) to {last} (right);
        darker = larger mixing weight{highlight ? `; blue = expert ${highlight.expert} of layer ${highlight.layer}, picked in the heatmap` : ''}. Hover a cell for its experts and weights.
      </span>
    </div>
  );
}

const visible = (t: string) => t.replace(/\n/g, '⏎').replace(/ /g, '·');
