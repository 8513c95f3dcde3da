import { useRef, useState } from 'react';
import { ErrorText } from '../../components/ErrorText.tsx';
import { errorText } from '../../host/engine-client.ts';
import { useHost } from '../../host/use-host.ts';
import { isListingError } from '../../state/slices/probes-slice.ts';
import { useActions, useApp } from '../../state/use-app.ts';

/** Edit and New beside the probe-set list. */
export function ProbeSetEditButtons() {
  const selected = useApp((s) => s.probes.selected);
  const { openProbeEditor } = useActions();
  return (
    <>
      <button type="button" className="secondary" disabled={!selected} onClick={() => selected && void openProbeEditor(selected)} data-testid="probe-edit"
        title="Open the selected set's text; it is saved as a new uploaded set (the sets shipped with the app are never changed)">Edit…</button>
      <button type="button" className="secondary" onClick={() => void openProbeEditor()} data-testid="probe-new">New…</button>
    </>
  );
}

/** 0-based character offset where 1-based `line` starts. */
function lineStart(text: string, line: number): number {
  let at = 0;
  for (let n = 1; n < line; n++) {
    const newline = text.indexOf('\n', at);
    if (newline < 0) return text.length;
    at = newline + 1;
  }
  return at;
}

/** The probe-set text editor: checked by the engine as it is typed, saved as an upload under a name of its own. */
export function ProbeSetEditor() {
  const opened = useApp((s) => s.probeEditor !== null);
  const source = useApp((s) => s.probeEditor?.source);
  // Keyed by the file, so what the panel remembers (the last export) starts afresh with each set opened.
  return opened ? <EditorPanel key={source ?? 'new'} /> : null;
}

function EditorPanel() {
  const editor = useApp((s) => s.probeEditor)!;
  const sets = useApp((s) => s.probes.sets);
  const { editProbeText, setProbeEditorName, saveProbeEditor, closeProbeEditor } = useActions();
  const area = useRef<HTMLTextAreaElement>(null);
  const host = useHost();
  const [exported, setExported] = useState<string | null>(null);
  /** A copy on the researcher's machine: the save dialog in Electron, a download in a browser. */
  const exportFile = async () => {
    const name = editor.name || 'probe-set.json';
    try {
      const where = await host.saveText(name, editor.text, name.endsWith('.json') ? 'application/json' : 'application/yaml');
      setExported(where ? `Exported to ${where}.` : host.kind === 'browser' ? `Downloaded as ${name}.` : null);
    } catch (err) {
      setExported(`Not exported: ${errorText(err)}`);
    }
  };
  const check = editor.check;
  const clash = editor.name && sets.find((s) => !isListingError(s) && s.file.split(/[/\\]/).pop() === editor.name && s.file !== editor.source);
  const goTo = (line: number) => {
    const el = area.current;
    if (!el) return;
    const at = lineStart(editor.text, line);
    el.focus();
    const end = editor.text.indexOf('\n', at);
    el.setSelectionRange(at, end < 0 ? editor.text.length : end);
    // Scroll the line into view: the textarea's line height times the lines above it.
    el.scrollTop = Math.max(0, (line - 3) * parseFloat(getComputedStyle(el).lineHeight || '16'));
  };
  return (
    <section className="panel probe-editor" data-testid="probe-editor">
      <div className="panel-head">
        <h2>{editor.source ? 'Edit probe set' : 'New probe set'} <span className="muted small">{editor.source ?? ''}</span></h2>
        <button type="button" className="small secondary" onClick={closeProbeEditor} data-testid="probe-editor-close">Close</button>
      </div>
      <div className="row controls wrap">
        <label className="field">
          <span>Save as (.json, .yaml)</span>
          <input value={editor.name} onChange={(e) => setProbeEditorName(e.target.value)} data-testid="probe-editor-name" spellCheck={false} />
        </label>
        <button type="button" disabled={!check?.ok || editor.checking || editor.saving || !editor.name} onClick={() => void saveProbeEditor()} data-testid="probe-editor-save">
          {editor.saving ? 'Saving…' : clash ? `Replace ${editor.name}` : 'Save as upload'}
        </button>
        <button type="button" className="secondary" disabled={!editor.text} onClick={() => void exportFile()} data-testid="probe-editor-export"
          title="Save the text as a file on this machine, wherever you choose">Export file…</button>
        <span className="hint">
          {clash ? `A set named ${editor.name} is already listed: saving replaces that uploaded set. ` : ''}
          Saved sets go to the uploaded sets; the sets shipped with the app are never changed.
        </span>
      </div>
      {exported && <div className="hint" data-testid="probe-editor-exported">{exported}</div>}
      {editor.saved && <div className="message" data-testid="probe-editor-saved">Saved as {editor.saved}; it is selected above.</div>}
      <div className="columns">
        <textarea
          ref={area}
          className="code-editor grow"
          value={editor.text}
          onChange={(e) => editProbeText(e.target.value)}
          spellCheck={false}
          rows={24}
          aria-label="probe set text (JSON or YAML)"
          data-testid="probe-editor-text"
        />
        <div className="side editor-check" data-testid="probe-editor-check" data-state={editor.checking ? 'checking' : check ? (check.ok ? 'valid' : 'invalid') : 'unknown'} aria-live="polite">
          <ErrorText error={editor.error} testId="probe-editor-error" />
          {editor.checking && <p className="hint">Checking…</p>}
          {!editor.checking && check?.ok && (
            <div className="message" data-testid="probe-editor-valid">
              Valid: {check.title} ({check.type}), {check.promptCount} prompts — {check.classes.map((c) => `${c.class} ${c.prompts}`).join(', ')}
            </div>
          )}
          {!editor.checking && check && !check.ok && (
            <>
              <div className="error-message">{check.total} problem{check.total === 1 ? '' : 's'}{check.total > check.problems.length ? ` (the first ${check.problems.length} listed)` : ''}:</div>
              <ul className="problem-list" data-testid="probe-editor-problems">
                {check.problems.map((p, i) => (
                  <li key={i}>
                    {p.line
                      ? <button type="button" className="link" onClick={() => goTo(p.line!)} data-testid="problem-line">line {p.line}</button>
                      : <span className="muted">file</span>}
                    {p.path && <code>{p.path}</code>} {p.message}
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      </div>
    </section>
  );
}
