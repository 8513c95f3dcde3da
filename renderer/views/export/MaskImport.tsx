import { useState } from 'react';
import { errorText } from '../../host/engine-client.ts';
import { useHost } from '../../host/use-host.ts';
import { useActions } from '../../state/use-app.ts';

/** Reads a mask file, lets the engine check it against the loaded model, and makes it the current mask. */
export function MaskImport() {
  const host = useHost();
  const { setMask, setMaskName } = useActions();
  const [result, setResult] = useState<{ ok: true; text: string; warnings: string[] } | { ok: false; text: string } | null>(null);
  const importFile = async (file: File) => {
    try {
      const r = await host.engine.call('mask.import', { json: await file.text(), source: file.name }).result;
      const off = r.mask.entries.filter((e) => e.state === 'off').length;
      setMask(r.mask, `Imported ${r.name ? `"${r.name}" ` : ''}from ${file.name}.`, null);
      setMaskName(r.name ?? '');
      setResult({ ok: true, text: `${file.name}: ${off} off, ${r.mask.entries.length - off} forced, ${r.mask.mode}/${r.mask.forceWeight} — now the current mask.`, warnings: r.warnings });
    } catch (err) {
      setResult({ ok: false, text: errorText(err) });
    }
  };
  return (
    <section className="panel">
      <h2>Import mask</h2>
      <p className="hint">MoTE mask JSON, EasySteer layer_configs or a SteerMoE moe_manual_weights matrix. It is checked against the loaded model; anything that does not fit is listed.</p>
      <input
        type="file"
        accept=".json,application/json"
        data-testid="import-mask-file"
        aria-label="mask file"
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = '';
          if (file) void importFile(file);
        }}
      />
      {result?.ok && (
        <div className="message" data-testid="import-result">
          {result.text}
          {result.warnings.length > 0 && <ul className="warnings">{result.warnings.map((w) => <li key={w}>{w}</li>)}</ul>}
        </div>
      )}
      {result && !result.ok && <pre className="error" role="alert" data-testid="import-error">{result.text}</pre>}
    </section>
  );
}
