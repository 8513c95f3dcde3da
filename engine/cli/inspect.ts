import { openCheckpoint, parameterCount, type Checkpoint } from '../model/checkpoint.ts';
import { moeLayerIndices } from '../model/spec.ts';
import type { ModelSummary } from '../protocol/types.ts';

export type { ModelSummary };

export function summarizeModel(dir: string): ModelSummary {
  return summarizeCheckpoint(openCheckpoint(dir));
}

export function summarizeCheckpoint(ckpt: Checkpoint): ModelSummary {
  const { spec } = ckpt;
  const params = parameterCount(spec);
  return {
    folder: ckpt.dir,
    architecture: spec.modelType,
    family: ckpt.family.name,
    routerRule: ckpt.family.routerRule,
    layers: spec.numLayers,
    moeLayers: moeLayerIndices(spec),
    experts: spec.numExperts,
    topK: spec.topK,
    normTopkProb: spec.normTopkProb,
    sharedExperts: spec.sharedExpertIntermediateSize > 0 ? 1 : 0,
    hiddenSize: spec.hiddenSize,
    heads: spec.numHeads,
    kvHeads: spec.numKvHeads,
    headDim: spec.headDim,
    vocabSize: spec.vocabSize,
    contextLength: spec.contextLength,
    parameters: params.total,
    activeParameters: params.activePerToken,
    memoryBytes: params.total * 4,
    checkpoint: ckpt.contentHash,
  };
}

const human = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} B` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} K` : String(n));
const bytes = (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`);

export function formatSummary(s: ModelSummary): string {
  const rows: [string, string][] = [
    ['folder', s.folder],
    ['architecture', `${s.architecture} (${s.family})`],
    ['layers', `${s.layers} (${s.moeLayers.length} MoE${s.moeLayers.length < s.layers ? `: ${s.moeLayers.join(', ')}` : ''})`],
    ['experts', `${s.experts} per MoE layer, k = ${s.topK}${s.sharedExperts ? ', plus 1 shared expert' : ''}`],
    ['router', s.routerRule + (s.normTopkProb ? ' (norm_topk_prob on)' : '')],
    ['attention', `${s.heads} heads × ${s.headDim}, ${s.kvHeads} KV heads, hidden ${s.hiddenSize}`],
    ['vocabulary', String(s.vocabSize)],
    ['context', `${s.contextLength} tokens`],
    ['parameters', `${human(s.parameters)} (${human(s.activeParameters)} active per token)`],
    ['memory', `${bytes(s.memoryBytes)} of float32 weights`],
    ['checkpoint', s.checkpoint],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
