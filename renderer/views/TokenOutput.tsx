import type { StopReason } from '../../engine/protocol/types.ts';
import type { GenStatus } from '../state/slices/steering-slice.ts';

const STATUS: Record<GenStatus, string> = {
  idle: '', waiting: 'mask changed — regenerating…', running: 'generating…', done: 'done', cancelled: 'cancelled', error: 'failed',
};

/** Streamed tokens; `changed` marks token positions to highlight (Compare's diff). */
export function TokenOutput({ tokens, status, reason, error, changed, testId }: {
  tokens: string[];
  status: GenStatus;
  reason: StopReason | null;
  error: string | null;
  changed?: ReadonlySet<number>;
  testId: string;
}) {
  return (
    <div className="token-output-box">
      <div className={`token-output ${status}`} data-testid={testId} data-status={status} aria-live="polite">
        {tokens.map((t, i) => (
          <span key={i} className={changed?.has(i) ? 'tok diff' : 'tok'}>{t}</span>
        ))}
        {status === 'running' && <span className="caret" />}
      </div>
      <div className="output-status">
        {STATUS[status]}
        {status === 'done' && reason && ` · stopped: ${reason} · ${tokens.length} tokens`}
        {error && <span className="error-inline"> {error}</span>}
      </div>
    </div>
  );
}
