import { NumberField } from '../components/NumberField.tsx';
import { FIELD } from '../state/number-input.ts';
import { useActions, useApp } from '../state/use-app.ts';

/** Prompt and sampling settings, shared by live regeneration (Steering) and Compare. */
export function GenSettingsForm({ onSubmit, testPrefix }: { onSubmit(): void; testPrefix: string }) {
  const gen = useApp((s) => s.steering.gen);
  const hasTemplate = useApp((s) => s.model.info?.hasChatTemplate ?? true);
  const { setGen } = useActions();
  return (
    <div className="gen-form">
      <textarea
        rows={3}
        value={gen.prompt}
        placeholder="Prompt — Ctrl+Enter to run"
        onChange={(e) => setGen({ prompt: e.target.value })}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) onSubmit();
        }}
        data-testid={`${testPrefix}-prompt`}
        aria-label="prompt"
      />
      <div className="row controls wrap">
        <label className="check" title={hasTemplate ? "Wrap the prompt in the model's chat template" : 'This model has no chat template'}>
          <input type="checkbox" checked={gen.chat} disabled={!hasTemplate} onChange={(e) => setGen({ chat: e.target.checked })} data-testid={`${testPrefix}-chat`} />
          chat
        </label>
        <NumberField label="Max tokens" field={FIELD.genMaxTokens} value={gen.maxTokens} onChange={(maxTokens) => setGen({ maxTokens })} min={1} max={8192} testId={`${testPrefix}-max-tokens`} />
        <NumberField label="Seed" field={FIELD.genSeed} value={gen.seed} onChange={(seed) => setGen({ seed })} min={0} max={2 ** 31 - 1} testId={`${testPrefix}-seed`} width={96} />
        <NumberField label="Temperature" field={FIELD.genTemperature} value={gen.temperature} onChange={(temperature) => setGen({ temperature })} min={0} max={100} step={0.1} testId={`${testPrefix}-temperature`} />
      </div>
    </div>
  );
}
