import { useState } from 'react';
import type { Precision } from '../../../engine/protocol/types.ts';
import { errorText } from '../../host/engine-client.ts';

/** Outcome line of one export: where it went, or the error. */
export interface Outcome {
  ok: boolean;
  text: string;
}

/** Runs an export and words its outcome; a null path means the browser (or Electron's download) handled it. */
export function useExport(): [Outcome | null, (what: string, save: () => Promise<string | null>) => Promise<void>] {
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const run = async (what: string, save: () => Promise<string | null>) => {
    try {
      const path = await save();
      setOutcome({ ok: true, text: path ? `${what} saved to ${path}` : `${what} downloaded.` });
    } catch (err) {
      setOutcome({ ok: false, text: errorText(err) });
    }
  };
  return [outcome, run];
}

export function OutcomeLine({ outcome, testId }: { outcome: Outcome | null; testId: string }) {
  if (!outcome) return null;
  return outcome.ok ? <div className="message" data-testid={testId}>{outcome.text}</div> : <pre className="error" data-testid={testId}>{outcome.text}</pre>;
}

/** A run's precision in an export's description, marked when the loaded model runs at another one. */
export function RunPrecision({ precision, model }: { precision: Precision; model: Precision | undefined }) {
  return precision === model || !model
    ? <b>{precision}</b>
    : <span className="badge warn" title={`the loaded model runs at ${model}`}>{precision} (model at {model})</span>;
}
