import { useState } from 'react';
import { Segmented } from '../../components/Segmented.tsx';
import { generationTraces } from '../../state/datasets.ts';
import { useApp } from '../../state/use-app.ts';
import { TokenRoutingView } from './TokenRoutingView.tsx';

type Side = 'steered' | 'baseline';

/** Compare: the steered output's routing per token (with what the mask removed), or the baseline's marked by the mask. */
export function CompareTokenRouting() {
  const model = useApp((s) => s.model.info);
  const version = useApp((s) => s.compare.routingVersion);
  const [side, setSide] = useState<Side>('steered');
  const steered = generationTraces.steered;
  const baseline = generationTraces.baseline;
  if (!model || !steered) return null;
  return (
    <section className="panel" data-testid="compare-token-routing">
      <div className="panel-head">
        <h2>Routing per token</h2>
        <Segmented<Side>
          label="Output"
          testId="compare-token-routing-side"
          value={side}
          onChange={setSide}
          options={[{ value: 'steered', label: 'Steered output' }, { value: 'baseline', label: 'Baseline output' }]}
        />
      </div>
      <TokenRoutingView
        testId="token-routing"
        trace={side === 'steered' ? steered : baseline}
        reference={baseline}
        steered={side === 'steered'}
        mask={steered.mask}
        layers={model.moeLayers}
        k={model.topK}
        version={version}
      />
    </section>
  );
}

/** Steering's live panel: the live output's routing per token, folded away (and not rendered) until opened. */
export function LiveTokenRouting() {
  const model = useApp((s) => s.model.info);
  const version = useApp((s) => s.steering.live.traceVersion);
  const [open, setOpen] = useState(false);
  const trace = generationTraces.live;
  if (!model || !trace) return null;
  return (
    <details className="live-token-routing" data-testid="live-token-routing" open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Routing per token</summary>
      {open && <TokenRoutingView testId="live-routing" trace={trace} steered mask={trace.mask} layers={model.moeLayers} k={model.topK} version={version} />}
    </details>
  );
}
