import { useState } from 'react';
import type { RemoteBackendName } from '../../engine/protocol/types.ts';
import { ErrorText } from '../components/ErrorText.tsx';
import { ProgressBar } from '../components/ProgressBar.tsx';
import { errorText, isCancelled, type CallHandle } from '../host/engine-client.ts';
import { useHost } from '../host/use-host.ts';
import { useActions, useApp } from '../state/use-app.ts';

/** Largest config.json read: real ones are a few KiB. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Records the selected probe set through an SGLang or vLLM server (probes.runRemote): the server renders, tokenizes
 * and generates; no model need be loaded here. Generate tokens and "start fresh" are the local run form's.
 */
export function RemoteRunForm() {
  const host = useHost();
  const { selected, expanded, generateTokens, forceNew } = useApp((s) => s.probes);
  const { loadRuns } = useActions();
  const [url, setUrl] = useState('');
  const [backend, setBackend] = useState<RemoteBackendName>('sglang');
  const [modelId, setModelId] = useState('');
  const [apiKey, setApiKey] = useState('');
  const [config, setConfig] = useState<{ name: string; text: string } | null>(null);
  const [job, setJob] = useState<{ handle: CallHandle<'probes.runRemote'>; done: number; total: number } | null>(null);
  const [message, setMessage] = useState<{ text: string; failed: boolean } | null>(null);

  const readConfig = async (file: File | undefined) => {
    if (!file) return;
    if (file.size > MAX_CONFIG_BYTES) return setMessage({ text: `${file.name}: ${file.size.toLocaleString('en')} bytes; a config.json is at most 1 MiB`, failed: true });
    setConfig({ name: file.name, text: await file.text() });
    setMessage(null);
  };

  const run = async () => {
    if (!selected || !config) return;
    const handle = host.engine.call('probes.runRemote',
      { file: selected, generateTokens, forceNew, url: url.trim(), backend, modelId: modelId.trim(), config: config.text, ...(apiKey ? { apiKey } : {}) },
      (e) => {
        if (e.name === 'probe.progress') setJob((j) => j && { ...j, done: e.data.done, total: e.data.total });
      });
    setJob({ handle, done: 0, total: expanded?.prompts.length ?? 0 });
    setMessage(null);
    try {
      const r = await handle.result;
      const resumed = r.resumedFrom > 0 ? ` (resumed after ${r.resumedFrom} recorded prompts)` : '';
      setMessage({ text: `Run ${r.runId} ${r.status}: ${r.recorded} prompts recorded through ${backend}${resumed}.`, failed: r.status === 'failed' });
    } catch (err) {
      setMessage(isCancelled(err) ? { text: 'Run cancelled; run it again to resume.', failed: false } : { text: errorText(err), failed: true });
    } finally {
      setJob(null);
      await loadRuns();
    }
  };

  const ready = !!selected && !!expanded && /^https?:\/\/\S+$/.test(url.trim()) && modelId.trim() !== '' && config !== null && !job;
  return (
    <details className="remote-run" data-testid="remote-run">
      <summary>Remote server (SGLang, vLLM)</summary>
      <div className="hint">Records this set through a server started with --enable-return-routed-experts: it renders, tokenizes and generates; no model need be loaded here.</div>
      <div className="row controls">
        <label>URL <input type="url" value={url} placeholder="http://host:30000" onChange={(e) => setUrl(e.target.value)} data-testid="remote-url" /></label>
        <label>Backend
          <select value={backend} onChange={(e) => setBackend(e.target.value as RemoteBackendName)} data-testid="remote-backend">
            <option value="sglang">SGLang</option>
            <option value="vllm">vLLM</option>
          </select>
        </label>
        <label>Model id <input value={modelId} placeholder="deepseek-ai/DeepSeek-R1" onChange={(e) => setModelId(e.target.value)} data-testid="remote-model-id" /></label>
        <label>API key <input type="password" value={apiKey} autoComplete="off" onChange={(e) => setApiKey(e.target.value)} data-testid="remote-api-key" /></label>
      </div>
      <div className="row controls">
        <label className="file-button secondary" title="The served model's config.json: its layers, experts and top-k (the servers do not report them)">
          <input type="file" accept=".json,application/json" data-testid="remote-config"
            onChange={(e) => { void readConfig(e.target.files?.[0]); e.target.value = ''; }} />
          {config ? `config: ${config.name}` : 'Choose config.json…'}
        </label>
        <button type="button" disabled={!ready} onClick={() => void run()} data-testid="remote-run-start">Run through server</button>
        <button type="button" className="secondary" disabled={!job} onClick={() => job?.handle.cancel()} data-testid="remote-run-cancel">Cancel</button>
      </div>
      {job && <ProgressBar testId="remote-progress" label={`${backend} at ${url}`} done={job.done} total={job.total} />}
      {message && (message.failed ? <ErrorText error={message.text} testId="remote-error" /> : <div className="message" data-testid="remote-message">{message.text}</div>)}
    </details>
  );
}
