import { useActions, useApp } from '../../state/use-app.ts';

/** The mask's entries in order (the order evaluation's dose-response follows). */
export function MaskEntries() {
  const mask = useApp((s) => s.steering.mask);
  const { entries } = mask;
  const { setMask } = useActions();
  const remove = (layer: number, expert: number) => setMask({ ...mask, entries: entries.filter((e) => !(e.layer === layer && e.expert === expert)) });
  if (entries.length === 0) return <p className="hint">Empty mask: every expert routes normally. Click cells to switch experts off (once) or force them on (twice).</p>;
  return (
    <ol className="mask-entries" data-testid="mask-entries">
      {entries.map((e) => (
        <li key={`${e.layer}:${e.expert}`}>
          <span className={`mark-swatch ${e.state}`} aria-hidden="true" />
          layer {e.layer} · expert {e.expert} <span className="muted">{e.state}</span>
          <button type="button" className="link" onClick={() => remove(e.layer, e.expert)} aria-label={`remove layer ${e.layer} expert ${e.expert}`}>remove</button>
        </li>
      ))}
    </ol>
  );
}
