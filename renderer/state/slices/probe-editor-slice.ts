import type { ProbeSetCheck } from '../../../engine/protocol/types.ts';
import { errorText } from '../../host/engine-client.ts';
import type { SliceContext } from '../store.ts';

export interface ProbeEditor {
  /** The file the text came from; null for a new set. */
  source: string | null;
  /** The bare file name it is saved under (an upload; the probes folder is never written). */
  name: string;
  text: string;
  /** The engine's verdict on `text` (probes.check), once it answered for the current text. */
  check: ProbeSetCheck | null;
  checking: boolean;
  error: string | null;
  saving: boolean;
  /** The stored file after the last save. */
  saved: string | null;
}

export interface ProbeEditorSlice {
  probeEditor: ProbeEditor | null;
  /** Opens a listed set's text in the editor, or a new set's skeleton without `file`. */
  openProbeEditor(file?: string): Promise<void>;
  editProbeText(text: string): void;
  setProbeEditorName(name: string): void;
  /** Stores the text as an upload (probes.expand with text), selects it and lists it. */
  saveProbeEditor(): Promise<void>;
  closeProbeEditor(): void;
}

const CHECK_DEBOUNCE_MS = 250;

export const NEW_PROBE_SET = `{
  "id": "my-probe-set",
  "title": "My probe set",
  "type": "templates",
  "classes": [
    { "id": "target", "description": "prompts that should show the behaviour" },
    { "id": "other", "description": "matched prompts that should not" }
  ],
  "templates": [{ "text": "Tell me how to {task}." }],
  "slots": {
    "task": {
      "target": ["pick a lock", "hotwire a car"],
      "other": ["bake bread", "tie a tie"]
    }
  }
}
`;

/** "set.json" → "set-edited.json": the default name an edited copy of a shipped set is saved under. */
export function editedName(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)}-edited${name.slice(dot)}` : `${name}-edited.json`;
}

export const probeEditorSlice = ({ host, set, get }: SliceContext): ProbeEditorSlice => {
  const patch = (p: Partial<ProbeEditor>) => set((s) => ({ probeEditor: s.probeEditor && { ...s.probeEditor, ...p } }));
  let timer: ReturnType<typeof setTimeout> | undefined;
  let request = 0;
  /** Asks the engine about the current text and name, a moment after the last keystroke. */
  const scheduleCheck = () => {
    clearTimeout(timer);
    patch({ checking: true });
    timer = setTimeout(() => {
      const editor = get().probeEditor;
      if (!editor) return;
      const mine = ++request;
      host.engine.call('probes.check', { file: editor.name || 'untitled.json', text: editor.text }).result.then(
        (check) => mine === request && patch({ check, checking: false, error: null }),
        (err: unknown) => mine === request && patch({ check: null, checking: false, error: errorText(err) }),
      );
    }, CHECK_DEBOUNCE_MS);
  };
  return {
    probeEditor: null,

    async openProbeEditor(file) {
      const fresh = { check: null, checking: false, error: null, saving: false, saved: null };
      if (file === undefined) {
        set({ probeEditor: { source: null, name: 'my-probe-set.json', text: NEW_PROBE_SET, ...fresh } });
      } else {
        try {
          const source = await host.engine.call('probes.source', { file }).result;
          set({ probeEditor: { source: source.file, name: source.shipped ? editedName(source.name) : source.name, text: source.text, ...fresh } });
        } catch (err) {
          set({ probeEditor: { source: file, name: '', text: '', ...fresh, error: errorText(err) } });
          return;
        }
      }
      scheduleCheck();
    },

    editProbeText(text) {
      patch({ text, saved: null });
      scheduleCheck();
    },

    setProbeEditorName(name) {
      patch({ name, saved: null });
      scheduleCheck();
    },

    async saveProbeEditor() {
      const editor = get().probeEditor;
      if (!editor || editor.saving) return;
      patch({ saving: true, error: null });
      try {
        const { set: info, prompts, tokenized } = await host.engine.call('probes.expand', { file: editor.name, text: editor.text }).result;
        patch({ saving: false, saved: info.file, source: info.file });
        set((s) => ({ probes: { ...s.probes, selected: info.file, expanded: { file: info.file, set: info, prompts, tokenized }, expandError: null } }));
        await get().loadProbeSets();
      } catch (err) {
        patch({ saving: false, error: errorText(err) });
      }
    },

    closeProbeEditor() {
      clearTimeout(timer);
      request++;
      set({ probeEditor: null });
    },
  };
};
