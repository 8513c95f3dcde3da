import { useCallback, useEffect, useState } from 'react';
import type { OpenAIEndpointStatus } from '../../engine/protocol/types.ts';
import { ErrorText } from '../components/ErrorText.tsx';
import { errorText } from '../host/engine-client.ts';
import { useHost } from '../host/use-host.ts';
import { useApp } from '../state/use-app.ts';

/**
 * The OpenAI-compatible endpoint (`mote serve --openai`) switched from the app: its base URL, the API key to give
 * evaluation tools, and the model names it serves (the loaded model, and MODEL+NAME per saved mask).
 */
export function OpenAIEndpointPanel() {
  const host = useHost();
  const connected = useApp((s) => s.engine.status === 'connected');
  const checkpoint = useApp((s) => s.model.info?.checkpoint);
  const [status, setStatus] = useState<OpenAIEndpointStatus | null>(null);
  const [busy, setBusy] = useState(false);
  /** The state asked for while the engine switches: the box shows it at once. */
  const [pending, setPending] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);

  const ask = useCallback(async (request: () => Promise<OpenAIEndpointStatus>) => {
    setBusy(true);
    try {
      setStatus(await request());
      setError(null);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }, []);
  const refresh = useCallback(() => ask(() => host.engine.call('openai.status', {}).result), [ask, host]);
  // The model names change with the loaded model.
  useEffect(() => {
    if (connected) void refresh();
  }, [connected, checkpoint, refresh]);

  if (!status?.available) return error ? <section className="panel"><h2>OpenAI-compatible endpoint</h2><ErrorText error={error} /></section> : null;
  const env = status.enabled ? `export OPENAI_BASE_URL=${status.baseUrl}\nexport OPENAI_API_KEY=${status.apiKey}` : '';
  return (
    <section className="panel openai-panel" data-testid="openai-panel" data-enabled={status.enabled}>
      <h2>OpenAI-compatible endpoint</h2>
      <p className="hint">
        Evaluate the loaded model, steered or not, with tools that speak the OpenAI API (lm-evaluation-harness, promptfoo,
        HarmBench runners, your own agents). Only this machine can reach it (127.0.0.1), and only with its API key.
      </p>
      <label className="row openai-switch">
        <input type="checkbox" checked={pending ?? status.enabled} disabled={busy} data-testid="openai-toggle"
          onChange={(e) => {
            const enabled = e.target.checked;
            setPending(enabled);
            void ask(() => host.engine.call('openai.setEnabled', { enabled }).result).finally(() => setPending(null));
          }} />
        <span>Serve the loaded model over the OpenAI API</span>
      </label>
      {status.enabled && (
        <>
          <dl className="kv openai-kv">
            <div>
              <dt>Base URL</dt>
              <dd><code data-testid="openai-base-url">{status.baseUrl}</code> <CopyButton text={status.baseUrl!} /></dd>
            </div>
            <div>
              <dt>API key</dt>
              <dd><code data-testid="openai-api-key">{status.apiKey}</code> <CopyButton text={status.apiKey!} /></dd>
            </div>
            <div>
              <dt>Models</dt>
              <dd data-testid="openai-models">
                {status.models.length ? status.models.map((m) => <code key={m} className="openai-model">{m}</code>) : <span className="muted">none: load a model first</span>}
                {' '}<button type="button" className="small secondary" disabled={busy} onClick={() => void refresh()} data-testid="openai-refresh">Refresh</button>
              </dd>
            </div>
          </dl>
          <div className="row openai-env">
            <pre className="grow mono" data-testid="openai-env">{env}</pre>
            <CopyButton text={env} />
          </div>
          <p className="hint">
            A mask saved for the API (Export → Save for the OpenAI API), or any <code>NAME.json</code> in <code className="mono">{status.masksDir}</code>,
            is served as the model <code>MODEL+NAME</code>: an A/B evaluation is two model names. Requests run one at a time on this engine,
            between the app's own jobs.
          </p>
        </>
      )}
      <ErrorText error={error} testId="openai-error" />
    </section>
  );
}

function CopyButton({ text }: { text: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button type="button" className="small secondary" onClick={() => void navigator.clipboard.writeText(text).then(() => setCopied(true), () => setCopied(false))}>
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}
