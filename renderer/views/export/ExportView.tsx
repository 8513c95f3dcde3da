import { useHost } from '../../host/use-host.ts';
import { useApp } from '../../state/use-app.ts';
import { BundleExport } from './BundleExport.tsx';
import { HeatmapExport } from './HeatmapExport.tsx';
import { MaskExport } from './MaskExport.tsx';
import { MaskImport } from './MaskImport.tsx';

export function ExportView() {
  const hasModel = useApp((s) => !!s.model.info);
  const host = useHost();
  if (!hasModel) return <div className="view"><p className="hint">No model loaded.</p></div>;
  return (
    <div className="view view-export">
      <p className="hint">{host.kind === 'electron' ? 'Files are saved through a save dialog.' : 'Files are downloaded by the browser.'}</p>
      <div className="columns equal">
        <MaskExport />
        <MaskImport />
      </div>
      <div className="columns equal">
        <HeatmapExport />
        <BundleExport />
      </div>
    </div>
  );
}
