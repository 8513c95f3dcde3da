import type { EngineHost } from '../../host/engine-host.ts';
import type { OpenAIControl } from '../../host/openai-control.ts';
import type { OpenAIEndpointStatus } from '../../protocol/types.ts';
import { startServer, type RunningServer } from '../serve.ts';
import type { OpenAIEndpoint } from './endpoint.ts';

function statusOf(endpoint: OpenAIEndpoint, server: RunningServer | null): OpenAIEndpointStatus {
  const on = endpoint.enabled && server !== null;
  return {
    available: true, enabled: on, baseUrl: on ? server.apiBase : null, apiKey: on ? server.token : null,
    models: on ? endpoint.modelNames() : [], masksDir: endpoint.masks.dir,
  };
}

/** Browser mode: the endpoint is on the page's own server (same port and token), switched by its flag. */
export function pageServerControl(endpoint: OpenAIEndpoint, server: RunningServer): OpenAIControl {
  return {
    status: () => statusOf(endpoint, server),
    setEnabled: async (enabled) => {
      endpoint.enabled = enabled;
      return statusOf(endpoint, server);
    },
    saveMask: (name, mask, model) => endpoint.masks.save(name, mask, model),
  };
}

/**
 * The desktop app's engine process, which has no HTTP server: an API-only server of its own on 127.0.0.1 (a free port,
 * a new random token), started when switched on and closed when switched off, so no port is open while it is off.
 */
export function ownServerControl(host: EngineHost, endpoint: OpenAIEndpoint, log: (line: string) => void): OpenAIControl {
  let server: RunningServer | null = null;
  // Switches run one after another, so two quick clicks never start two servers.
  let switching: Promise<unknown> = Promise.resolve();
  const setEnabled = async (enabled: boolean): Promise<OpenAIEndpointStatus> => {
    if (enabled && !server) {
      server = await startServer({ host, staticDir: '', port: 0, openai: endpoint, ui: false, log });
      log(`OpenAI-compatible API at ${server.apiBase}`);
    } else if (!enabled && server) {
      const closing = server;
      server = null;
      await closing.close();
    }
    return statusOf(endpoint, server);
  };
  return {
    status: () => statusOf(endpoint, server),
    setEnabled: (enabled) => {
      const next = switching.then(() => setEnabled(enabled));
      switching = next.catch(() => undefined);
      return next;
    },
    saveMask: (name, mask, model) => endpoint.masks.save(name, mask, model),
  };
}
