import { GEN_FIELDS } from '../../state/number-input.ts';
import { fieldProblem } from '../../state/slices/fields-slice.ts';
import { useActions, useApp } from '../../state/use-app.ts';
import { GenSettingsForm } from '../GenSettingsForm.tsx';
import { LiveTokenRouting } from '../token-routing/TokenRoutingPanels.tsx';
import { TokenOutput } from '../TokenOutput.tsx';

/** Live regeneration: every mask change re-runs the prompt (debounced, cancelling the previous run). */
export function LivePanel() {
  const live = useApp((s) => s.steering.live);
  const hasPrompt = useApp((s) => !!s.steering.gen.prompt.trim());
  const invalid = useApp((s) => fieldProblem(s, GEN_FIELDS));
  const { runLive, setLiveAuto } = useActions();
  return (
    <section className="panel">
      <div className="panel-head">
        <h2>Live generation</h2>
        <div className="row">
          <label className="check" title="Re-run the prompt after each mask change">
            <input type="checkbox" checked={live.auto} onChange={(e) => setLiveAuto(e.target.checked)} data-testid="live-auto" />
            re-run on mask change
          </label>
          <button type="button" disabled={!hasPrompt || !!invalid} title={invalid ? `Fix first: ${invalid}` : undefined} onClick={() => void runLive()} data-testid="live-run">Generate</button>
        </div>
      </div>
      <GenSettingsForm testPrefix="live" onSubmit={() => void runLive()} />
      <TokenOutput testId="live-output" tokens={live.tokens} status={live.status} reason={live.reason} error={live.error} timing={live.timing} />
      <LiveTokenRouting />
    </section>
  );
}
