import type { StoredEvaluation } from '../protocol/types.ts';
import type { ExpertMask } from '../steering/mask.ts';
import { maskFile, type ModelIdentity } from '../steering/mask-file.ts';
import type { Run } from '../store/runs.ts';
import { appVersion } from './app-version.ts';

export interface BundleInput {
  model: ModelIdentity;
  /** The probe run the outputs belong to, if any: its probe set and settings go into the bundle. */
  run?: Run;
  mask: ExpertMask;
  seed: number;
  outputs: { label: string; text: string }[];
  /** Stored evaluations to carry along, whole (results, settings, per-prompt outcomes). */
  evaluations?: StoredEvaluation[];
}

/**
 * A self-describing record of a steering result: the model identity, the probe set (from the run), the mask as a
 * mote-mask file (importable as it is), the seed, the outputs, the evaluations asked for and the app version.
 */
export function runBundle(input: BundleInput, now = new Date()): { json: string; fileName: string } {
  const { run } = input;
  const bundle = {
    format: 'mote-bundle',
    version: 1,
    app: appVersion(),
    createdAt: now.toISOString(),
    model: input.model,
    run: run ? {
      id: run.id, createdAt: run.createdAt, status: run.status, model: run.model, modelDir: run.modelDir,
      generateTokens: run.generateTokens, mask: run.mask, recordLogits: run.recordLogits,
    } : null,
    probeSet: run ? { id: run.setId, path: run.setPath, set: run.set } : null,
    mask: maskFile(input.mask, input.model),
    seed: input.seed,
    outputs: input.outputs,
    evaluations: input.evaluations ?? [],
  };
  const stamp = now.toISOString().slice(0, 19).replace(/[:T]/g, '-');
  return { json: JSON.stringify(bundle, null, 2) + '\n', fileName: run ? `mote-run-${run.id}-${stamp}.bundle.json` : `mote-${stamp}.bundle.json` };
}
