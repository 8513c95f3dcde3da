/** A small group of mutually exclusive buttons; each option's test id is `${testId}-${value}`. */
export function Segmented<V extends string>({ value, options, onChange, testId, label }: {
  value: V;
  options: { value: V; label: string; title?: string }[];
  onChange(v: V): void;
  testId: string;
  label: string;
}) {
  return (
    <div className="segmented" role="radiogroup" aria-label={label} data-testid={testId}>
      {options.map((o) => (
        <button
          key={o.value}
          type="button"
          role="radio"
          aria-checked={o.value === value}
          className={o.value === value ? 'on' : undefined}
          title={o.title}
          data-testid={`${testId}-${o.value}`}
          onClick={() => onChange(o.value)}
        >
          {o.label}
        </button>
      ))}
    </div>
  );
}
