import type { ForceWeight, OffMode } from '../../../engine/protocol/types.ts';
import { NumberField } from '../../components/NumberField.tsx';
import { Segmented } from '../../components/Segmented.tsx';
import { FIELD } from '../../state/number-input.ts';
import { topNOf } from '../../state/selectors.ts';
import { useActions, useApp } from '../../state/use-app.ts';

export function MaskControls({ hasRanking }: { hasRanking: boolean }) {
  const mask = useApp((s) => s.steering.mask);
  const includeTies = useApp((s) => s.steering.includeTies);
  const topN = useApp((s) => topNOf(s).n);
  const basis = useApp((s) => topNOf(s).basis);
  const topNAuto = useApp((s) => s.steering.topNAuto);
  const topNInvalid = useApp((s) => !!s.fields[FIELD.topN]);
  const { setTopN, setIncludeTies, resetTopN, applyTopN, clearMask, setMaskOptions } = useActions();
  const off = mask.entries.filter((e) => e.state === 'off').length;
  return (
    <div className="row controls wrap">
      <NumberField label="N" field={FIELD.topN} value={topN} onChange={setTopN} min={1} max={100_000} testId="steer-topn-count" />
      <button type="button" disabled={!hasRanking || topNInvalid} onClick={() => applyTopN('off')} data-testid="steer-topn" title="Replace the mask with the N best-ranked experts of the ranking shown in Imaging, switched off">
        Switch off top {topN}
      </button>
      <button type="button" className="secondary" disabled={!hasRanking || topNInvalid} onClick={() => applyTopN('forced')} data-testid="steer-force-topn"
        title="Replace the mask with the N best-ranked experts of the ranking shown in Imaging, forced on (at most k per layer)">
        Force top {topN}
      </button>
      <label className="check" title="When experts of equal score straddle the N-th place, take all of them">
        <input type="checkbox" checked={includeTies} onChange={(e) => setIncludeTies(e.target.checked)} data-testid="steer-include-ties" /> include ties
      </label>
      <button type="button" className="secondary" disabled={mask.entries.length === 0} onClick={clearMask} data-testid="steer-clear">Clear</button>
      <div className="field">
        <span>Off experts</span>
        <Segmented<OffMode>
          label="off mode"
          value={mask.mode}
          options={[
            { value: 'backfill', label: 'backfill', title: "an off expert's slot goes to the next-best expert (SteerMoE)" },
            { value: 'drop', label: 'drop', title: "the router's own top-k is kept; off experts just lose their slot" },
          ]}
          onChange={(mode) => setMaskOptions({ mode })}
          testId="mask-mode"
        />
      </div>
      <div className="field">
        <span>Forced weight</span>
        <Segmented<ForceWeight>
          label="forced expert weight"
          value={mask.forceWeight}
          options={[
            { value: 'natural', label: 'natural', title: 'a forced expert keeps its own router score' },
            { value: 'max', label: 'max', title: "weighted as if its logit were the row's top + 0.01 (SteerMoE)" },
          ]}
          onChange={(forceWeight) => setMaskOptions({ forceWeight })}
          testId="mask-weight"
        />
      </div>
      {basis && <span className="hint topn-basis" data-testid="steer-topn-basis">N = {topN}: {basis}</span>}
      {!topNAuto && hasRanking && <button type="button" className="link" onClick={resetTopN} data-testid="steer-topn-auto" title="N = the number of experts with q < 0.05 in the ranking">N from the ranking</button>}
      <span className="mask-summary" data-testid="mask-summary">
        {off} off · {mask.entries.length - off} forced
      </span>
    </div>
  );
}
