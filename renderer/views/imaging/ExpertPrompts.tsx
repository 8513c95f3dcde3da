import type { PromptHit } from '../../../engine/protocol/types.ts';
import { ErrorText } from '../../components/ErrorText.tsx';
import { useActions, useApp } from '../../state/use-app.ts';

const SHOWN = 50;

/** Prompts routed to the clicked expert, their routed tokens highlighted in context. */
export function ExpertPrompts() {
  const { cell, hits, hitsError, routingIdx, span } = useApp((s) => s.imaging);
  const { showPromptRouting } = useActions();
  if (!cell) return <p className="hint">Click a cell to list the prompts whose tokens were routed to that expert.</p>;
  return (
    <div data-testid="expert-prompts">
      <h3>
        Layer {cell.layer} · expert {cell.expert}
        {hits && <span className="muted"> — {hits.length} prompt{hits.length === 1 ? '' : 's'} with {span} tokens routed here</span>}
      </h3>
      <ErrorText error={hitsError} />
      {!hits && !hitsError && <p className="hint">Loading…</p>}
      <ul className="hits">
        {hits?.slice(0, SHOWN).map((h) => (
          <li key={h.idx} className={h.idx === routingIdx ? 'hit selected' : 'hit'} data-testid="expert-prompt">
            <div className="hit-head">
              <span className="class-chip">{h.class}</span>
              <span className="muted">#{h.idx} · {h.positions.length} token{h.positions.length === 1 ? '' : 's'}</span>
              <button type="button" className="small secondary" onClick={() => void showPromptRouting(h.idx)} data-testid="expert-prompt-routing">Token routing</button>
            </div>
            <HitText hit={h} />
          </li>
        ))}
      </ul>
      {hits && hits.length > SHOWN && <p className="hint">… and {hits.length - SHOWN} more</p>}
    </div>
  );
}

function HitText({ hit }: { hit: PromptHit }) {
  const routed = new Set(hit.positions);
  return (
    <div className="token-text">
      {hit.tokens.map((t, i) => (
        <span key={i} className={[routed.has(i) ? 'routed' : '', i >= hit.promptTokens ? 'response' : '', i === hit.promptTokens ? 'response-start' : ''].join(' ').trim() || undefined}>
          {t}
        </span>
      ))}
    </div>
  );
}
