import { useActions, useApp } from '../../state/use-app.ts';

/** Run found the set already recorded (same model, precision and options): say so, and offer the run or a new one. */
export function AlreadyRecorded({ onOpenRun }: { onOpenRun(runId: number): void }) {
  const already = useApp((s) => s.probes.alreadyRecorded);
  const busy = useApp((s) => !!s.probes.job);
  const { runProbes } = useActions();
  if (!already) return null;
  const when = already.finishedAt ? ` (finished ${new Date(already.finishedAt).toLocaleString()})` : '';
  return (
    <div className="message row wrap" data-testid="probe-already-recorded" data-run-id={already.runId}>
      <span>This set was already recorded as run {already.runId}{when} with this model, precision and settings — open it, or record it again.</span>
      <button type="button" className="small" onClick={() => onOpenRun(already.runId)} data-testid="already-open">Open run {already.runId}</button>
      <button type="button" className="small secondary" disabled={busy} onClick={() => void runProbes(undefined, true)} data-testid="already-again">Record again</button>
    </div>
  );
}
