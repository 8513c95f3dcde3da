import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { installBench } from './bench/heatmap-bench.ts';
import { createHost } from './host/host.ts';
import { HostContext } from './host/use-host.ts';
import { createAppStore } from './state/store.ts';
import { StoreContext } from './state/use-app.ts';
import './styles.css';
import { installTestHooks } from './test-hooks.ts';

const host = createHost();
const store = createAppStore(host);
installTestHooks(store);
installBench();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <HostContext.Provider value={host}>
      <StoreContext.Provider value={store}>
        <App />
      </StoreContext.Provider>
    </HostContext.Provider>
  </StrictMode>,
);
