import type { MethodParams } from '../../../engine/protocol/methods.ts';
import { useState } from 'react';
import { Segmented } from '../../components/Segmented.tsx';
import { useHost } from '../../host/use-host.ts';
import { useActions, useApp } from '../../state/use-app.ts';
import { OutcomeLine, useExport } from './export-outcome.tsx';

type MaskFormat = MethodParams<'mask.export'>['format'];

export function MaskExport() {
  const host = useHost();
  const mask = useApp((s) => s.steering.mask);
  const name = useApp((s) => s.steering.maskName);
  const precision = useApp((s) => s.model.info?.precision);
  const { setMaskName } = useActions();
  const [format, setFormat] = useState<MaskFormat>('mote');
  const [outcome, run] = useExport();
  const exportMask = () =>
    run('Mask', async () => {
      const { json, fileName } = await host.engine.call('mask.export', { mask, format, ...(name.trim() ? { name: name.trim() } : {}) }).result;
      return host.saveText(fileName, json, 'application/json');
    });
  return (
    <section className="panel">
      <h2>Export mask</h2>
      <p className="hint">The current mask: {mask.entries.length} entries, {mask.mode}/{mask.forceWeight}{precision ? `; MoTE JSON records the model's identity and precision (${precision})` : ''}.</p>
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
    </section>
  );
}
