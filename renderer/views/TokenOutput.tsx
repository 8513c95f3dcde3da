import type { GenerationResult, StopReason } from '../../engine/protocol/types.ts';
import type { GenStatus } from '../state/slices/steering-slice.ts';

const STATUS: Record<GenStatus, string> = {
  idle: '', waiting: 'mask changed — regenerating…', running: 'generating…', done: 'done', cancelled: 'cancelled', error: 'failed',
};

/** Streamed tokens; `changed` marks token positions to highlight (Compare's diff). */
/** "first token 84 ms · 31.5 tokens/s", as measured in the engine; empty when nothing was measured. */
export function timingText(timing: GenerationResult['timing'] | null | undefined): string {
  if (!timing) return '';
  const parts = [];
  if (timing.firstTokenMs !== null) parts.push(`first token ${timing.firstTokenMs < 10 ? timing.firstTokenMs.toFixed(1) : Math.round(timing.firstTokenMs)} ms`);
  if (timing.tokensPerSecond !== null) parts.push(`${timing.tokensPerSecond.toFixed(1)} tokens/s`);
  return parts.join(' · ');
}

export function TokenOutput({ tokens, status, reason, error, changed, testId, timing }: {
  tokens: string[];
  /** Speed of the finished generation, from its result. */
  timing?: GenerationResult['timing'] | null;
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
        {status === 'done' && timingText(timing) && <span className="timing" data-testid={`${testId}-timing`}> · {timingText(timing)}</span>}
        {error && <span className="error-inline"> {error}</span>}
      </div>
    </div>
  );
}
