import { useEffect, useState } from 'react';

/** A labelled number input that reports only valid values within [min, max]. */
export function NumberField({ label, value, onChange, min, max, step = 1, testId, width = 72 }: {
  label: string;
  value: number;
  onChange(v: number): void;
  min: number;
  max: number;
  step?: number;
  testId: string;
  width?: number;
}) {
  const [text, setText] = useState(String(value));
  useEffect(() => setText(String(value)), [value]);
  const valid = (v: number) => Number.isFinite(v) && v >= min && v <= max && (step < 1 || Number.isInteger(v));
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
        aria-invalid={!valid(Number(text))}
        onChange={(e) => {
          setText(e.target.value);
          const v = Number(e.target.value);
          if (e.target.value !== '' && valid(v)) onChange(v);
        }}
      />
    </label>
  );
}
