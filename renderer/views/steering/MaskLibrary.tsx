import { useState } from 'react';
import { describeRanking } from '../../state/selectors.ts';
import { useActions, useApp } from '../../state/use-app.ts';

/** Named masks kept in localStorage. */
export function MaskLibrary() {
  const { saved, mask } = useApp((s) => s.steering);
  const checkpoint = useApp((s) => s.model.info?.checkpoint);
  const { saveMask, loadSavedMask, deleteSavedMask } = useActions();
  const [name, setName] = useState('');
  return (
    <div className="mask-library">
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim()) saveMask(name.trim());
        }}
      >
        <input className="grow" type="text" value={name} placeholder="mask name" onChange={(e) => setName(e.target.value)} data-testid="mask-name" aria-label="mask name" />
        <button type="submit" disabled={!name.trim() || mask.entries.length === 0} data-testid="mask-save">Save</button>
      </form>
      {saved.length === 0 ? (
        <p className="hint">No saved masks.</p>
      ) : (
        <ul className="list" data-testid="mask-list">
          {saved.map((m) => (
            <li key={m.name} className="list-row" data-testid="mask-list-item" data-name={m.name}>
              <div className="grow">
                <div className="item-title">{m.name}</div>
                <div className="item-meta">
                  {m.mask.entries.length} entries · {m.mask.mode}/{m.mask.forceWeight}
                  {m.source && ` · top ${m.source.n} of ${describeRanking(m.source)}${m.source.edited ? ', edited' : ''}`}
                  {m.checkpoint !== checkpoint && ' · other checkpoint'}
                </div>
              </div>
              <button type="button" className="small" onClick={() => loadSavedMask(m.name)} data-testid="mask-load">Load</button>
              <button type="button" className="small secondary" onClick={() => deleteSavedMask(m.name)} data-testid="mask-delete" aria-label={`delete ${m.name}`}>Delete</button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
