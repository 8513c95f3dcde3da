/** Determinate when total > 0, otherwise an indeterminate stripe. */
export function ProgressBar({ done, total, label, testId }: { done: number; total: number; label?: string; testId: string }) {
  const pct = total > 0 ? Math.min(100, (done / total) * 100) : null;
  return (
    <div className="progress" data-testid={testId}>
      <div
        className={pct === null ? 'progress-track indeterminate' : 'progress-track'}
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={total || undefined}
        aria-valuenow={total > 0 ? done : undefined}
        aria-label={label}
      >
        <div className="progress-fill" style={pct === null ? undefined : { width: `${pct}%` }} />
      </div>
      <span className="progress-text">{[label, total > 0 ? `${done} / ${total}` : null].filter(Boolean).join(' · ')}</span>
    </div>
  );
}
