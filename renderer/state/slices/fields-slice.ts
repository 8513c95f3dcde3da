import type { FieldDraft, FieldKey } from '../number-input.ts';
import type { AppState, SliceContext } from '../store.ts';

export interface FieldsSlice {
  /** Numeric fields whose text is not a value they accept (the setting keeps its last accepted value meanwhile). */
  fields: Partial<Record<FieldKey, FieldDraft>>;
  setFieldDraft(key: FieldKey, draft: FieldDraft | null): void;
}

/** The first problem among `keys`, e.g. "Random controls K: 200 is above the maximum, 100"; null when all are valid. */
export const fieldProblem = (s: AppState, keys: readonly FieldKey[]): string | null =>
  keys.map((k) => s.fields[k]?.problem).find((p) => p !== undefined) ?? null;

export const fieldsSlice = ({ set }: SliceContext): FieldsSlice => ({
  fields: {},
  setFieldDraft: (key, draft) => set((s) => {
    const fields = { ...s.fields };
    if (draft) fields[key] = draft;
    else delete fields[key];
    return { fields };
  }),
});
