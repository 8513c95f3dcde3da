import type { MethodParams } from '../../../engine/protocol/methods.ts';
import { useState } from 'react';
import { Segmented } from '../../components/Segmented.tsx';
import { errorText } from '../../host/engine-client.ts';
import { useHost } from '../../host/use-host.ts';
import { useActions, useApp } from '../../state/use-app.ts';
import { MaskSourceLine } from '../MaskSource.tsx';
import { OutcomeLine, useExport, type Outcome } from './export-outcome.tsx';

type MaskFormat = MethodParams<'mask.export'>['format'];

export function MaskExport() {
  const host = useHost();
  const mask = useApp((s) => s.steering.mask);
  const name = useApp((s) => s.steering.maskName);
  const maskSource = useApp((s) => s.steering.maskSource);
  const precision = useApp((s) => s.model.info?.precision);
  const { setMaskName } = useActions();
  const [format, setFormat] = useState<MaskFormat>('mote');
  const [outcome, run] = useExport();
  const exportMask = () =>
    run('Mask', async () => {
      const { json, fileName } = await host.engine.call('mask.export', { mask, format, ...(name.trim() ? { name: name.trim() } : {}) }).result;
      return host.saveText(fileName, json, 'application/json');
    });
  const [served, setServed] = useState<Outcome | null>(null);
  const saveForApi = async () => {
    try {
      const saved = await host.engine.call('openai.saveMask', { name: name.trim(), mask }).result;
      setServed({ ok: true, text: `Saved to ${saved.file}: the OpenAI-compatible endpoint serves it as the model ${saved.model}.` });
    } catch (err) {
      setServed({ ok: false, text: errorText(err) });
    }
  };
  return (
    <section className="panel">
      <h2>Export mask</h2>
      <p className="hint">The current mask: {mask.entries.length} entries, {mask.mode}/{mask.forceWeight}{precision ? `; MoTE JSON records the model's identity and precision (${precision})` : ''}.</p>
      <MaskSourceLine source={maskSource} entries={mask.entries.length} testId="export-mask-source" />
      <div className="row controls wrap">
        <input type="text" value={name} placeholder="name (optional)" onChange={(e) => setMaskName(e.target.value)} data-testid="export-mask-name" aria-label="mask name" />
        <Segmented<MaskFormat>
          label="mask format"
          value={format}
          options={[
            { value: 'mote', label: 'MoTE JSON', title: 'our format, with model identity' },
            { value: 'easysteer', label: 'EasySteer', title: "EasySteer's layer_configs form" },
            { value: 'steermoe', label: 'SteerMoE', title: "SteerMoE's moe_manual_weights matrix: a row per decoder layer, +1 activate, −1 deactivate" },
          ]}
          onChange={setFormat}
          testId="export-mask-format"
        />
        <button type="button" disabled={mask.entries.length === 0} onClick={() => void exportMask()} data-testid="export-mask">Export mask JSON</button>
      </div>
      <OutcomeLine outcome={outcome} testId="export-mask-result" />
      <div className="row controls wrap">
        <button type="button" className="secondary" disabled={mask.entries.length === 0 || !name.trim()} onClick={() => void saveForApi()} data-testid="save-mask-for-api"
          title="save it in the endpoint's masks folder (MoTE JSON), served as the model MODEL+NAME: needs a name">
          Save for the OpenAI API
        </button>
        <span className="hint">Serves the mask as a second model name on the OpenAI-compatible endpoint (Model view), for A/B evaluations.</span>
      </div>
      <OutcomeLine outcome={served} testId="save-mask-for-api-result" />
    </section>
  );
}
