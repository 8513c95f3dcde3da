import { useState } from 'react';
import type { RunSummary } from '../../../engine/protocol/types.ts';
import { useActions } from '../../state/use-app.ts';

/** A run's note in the runs table: shown, and edited in place (Enter saves, Escape cancels). */
export function RunNoteCell({ run }: { run: RunSummary }) {
  const { annotateRun } = useActions();
  const [draft, setDraft] = useState<string | null>(null);
  if (draft === null) {
    return (
      <td className="run-note">
        <button type="button" className="link note-button" onClick={() => setDraft(run.note)} title="Edit the note" data-testid="run-note" aria-label={`note of run ${run.id}: ${run.note || 'none'}; edit`}>
          {run.note || <span className="muted">add note</span>}
        </button>
      </td>
    );
  }
  const save = async () => {
    if (await annotateRun(run.id, draft)) setDraft(null);
  };
  return (
    <td className="run-note">
      <input
        autoFocus
        value={draft}
        maxLength={4000}
        aria-label={`note of run ${run.id}`}
        placeholder="what this run is for"
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') void save();
          if (e.key === 'Escape') setDraft(null);
        }}
        data-testid="run-note-input"
      />
      <button type="button" className="small" onClick={() => void save()} data-testid="run-note-save">Save</button>
    </td>
  );
}

/** Outcomes and Delete (asks first: the run's recorded routing cannot be restored) for one run. */
export function RunRecordButtons({ run, live }: { run: RunSummary; live: boolean }) {
  const { deleteRun, showRunSummary } = useActions();
  const [confirming, setConfirming] = useState(false);
  if (confirming) {
    return (
      <span className="confirm-delete" role="group" aria-label={`delete run ${run.id}?`}>
        <span>Delete run {run.id} and its {run.recorded} recorded prompts?</span>
        <button type="button" className="small danger" onClick={() => void deleteRun(run.id)} data-testid="run-delete-confirm">Delete</button>
        <button type="button" className="small secondary" onClick={() => setConfirming(false)} data-testid="run-delete-cancel">Keep</button>
      </span>
    );
  }
  return (
    <>
      {run.recorded > 0 && <button type="button" className="small secondary" onClick={() => void showRunSummary(run.id)} data-testid="run-outcomes-open">Outcomes</button>}
      <button type="button" className="small secondary" disabled={live} title={live ? 'being recorded: cancel it first' : 'Delete the run and its recorded routing'}
        onClick={() => setConfirming(true)} data-testid="run-delete">Delete</button>
    </>
  );
}
