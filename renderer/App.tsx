import { useEffect, useState } from 'react';
import { EngineBanner } from './components/EngineBanner.tsx';
import { SessionNotice } from './components/SessionNotice.tsx';
import { useApp } from './state/use-app.ts';
import { CompareView } from './views/compare/CompareView.tsx';
import { EvaluateView } from './views/evaluate/EvaluateView.tsx';
import { ExportView } from './views/export/ExportView.tsx';
import { ImagingView } from './views/imaging/ImagingView.tsx';
import { ModelView } from './views/ModelView.tsx';
import { ProbesView } from './views/ProbesView.tsx';
import { SteeringView } from './views/steering/SteeringView.tsx';

const TABS = [
  { id: 'model', label: 'Model' },
  { id: 'probes', label: 'Probes' },
  { id: 'imaging', label: 'Imaging' },
  { id: 'steering', label: 'Steering' },
  { id: 'compare', label: 'Compare' },
  { id: 'evaluate', label: 'Evaluate' },
  { id: 'export', label: 'Export' },
] as const;

type TabId = (typeof TABS)[number]['id'];

const tabFromHash = (): TabId => TABS.find((t) => `#${t.id}` === window.location.hash)?.id ?? 'model';

export function App() {
  const [tab, setTab] = useState<TabId>(tabFromHash);
  const connected = useApp((s) => s.engine.status === 'connected');
  useEffect(() => {
    const onHash = () => setTab(tabFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const go = (id: TabId) => {
    history.replaceState(null, '', `#${id}`);
    setTab(id);
  };
  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">MoTE Studio</div>
        <nav className="tabs" role="tablist">
          {TABS.map((t) => (
            <button key={t.id} type="button" role="tab" aria-selected={tab === t.id} className={tab === t.id ? 'tab on' : 'tab'} data-testid={`tab-${t.id}`} onClick={() => go(t.id)}>
              {t.label}
            </button>
          ))}
        </nav>
        <ModelBadge />
      </header>
      <EngineBanner />
      <SessionNotice />
      <main className="main" role="tabpanel" data-testid={`view-${tab}`}>
        {/* Every action talks to the engine: without it they are disabled, not left to hang. */}
        <fieldset className="engine-gate" disabled={!connected} data-testid="engine-gate">
        {tab === 'model' && <ModelView />}
        {tab === 'probes' && <ProbesView onOpenRun={() => go('imaging')} />}
        {tab === 'imaging' && <ImagingView />}
        {tab === 'steering' && <SteeringView />}
        {tab === 'compare' && <CompareView />}
        {tab === 'evaluate' && <EvaluateView />}
        {tab === 'export' && <ExportView />}
        </fieldset>
      </main>
    </div>
  );
}

function ModelBadge() {
  const info = useApp((s) => s.model.info);
  const opening = useApp((s) => !!s.model.opening);
  const status = useApp((s) => s.engine.status);
  const entries = useApp((s) => s.steering.mask.entries.length);
  return (
    <div className="model-badge" data-testid="model-badge">
      <span className={`dot dot-${status}`} title={`engine ${status}`} />
      {opening ? 'opening model…' : info ? `${info.architecture} · ${info.moeLayers.length}×${info.experts} · k ${info.topK} · ${info.precision}${info.demo ? ' · demo' : ''}` : 'no model'}
      {entries > 0 && <span className="badge accent" title="entries in the current mask">mask {entries}</span>}
    </div>
  );
}
