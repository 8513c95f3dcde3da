import { useEffect, useState } from 'react';
import { numberProblem, type FieldKey } from '../state/number-input.ts';
import { useActions, useApp } from '../state/use-app.ts';

/**
 * A labelled number input. A value within [min, max] (whole, unless step < 1) goes to onChange; anything else is
 * kept as typed, named under the field, and recorded in the store (fields) so the actions using it refuse to run —
 * never clamped, never replaced by the last valid value behind the user's back.
 */
export function NumberField({ label, field, value, onChange, min, max, step = 1, testId, width = 72 }: {
  label: string;
  /** The setting's key in the store; actions check it before running. */
  field: FieldKey;
  value: number;
  onChange(v: number): void;
  min: number;
  max: number;
  step?: number;
  testId: string;
  width?: number;
}) {
  const draft = useApp((s) => s.fields[field]);
  const { setFieldDraft } = useActions();
  const [text, setText] = useState(draft?.text ?? String(value));
  // A value set elsewhere (a restored session, the other form bound to the same setting) replaces the text, unless
  // the text already reads as that value ("0.50" while 0.5) or holds a refused value the user is still fixing.
  useEffect(() => {
    setText((t) => (draft ? draft.text : Number(t) === value && t.trim() !== '' ? t : String(value)));
  }, [value, draft]);
  return (
    <label className="field">
      <span>{label}</span>
      <input
        type="number"
        inputMode="decimal"
        value={text}
        min={min}
        max={max}
        step={step}
        style={{ width }}
        data-testid={testId}
        aria-invalid={!!draft}
        aria-describedby={draft ? `${testId}-error` : undefined}
        onChange={(e) => {
          const t = e.target.value;
          setText(t);
          const problem = numberProblem(t, { label, min, max, integer: step >= 1 });
          setFieldDraft(field, problem ? { text: t, problem } : null);
          if (!problem) onChange(Number(t));
        }}
      />
      {draft && <span className="field-error" role="alert" id={`${testId}-error`} data-testid={`${testId}-error`}>{draft.problem}</span>}
    </label>
  );
}
