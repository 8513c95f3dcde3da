import { memoryEstimates } from '../host/model-info.ts';
import { openCheckpoint, parameterCount, type Checkpoint } from '../model/checkpoint.ts';
import { moeLayerIndices } from '../model/spec.ts';
import { loadTokenizer } from '../model/tokenizer.ts';
import type { MemoryEstimates, ModelSummary } from '../protocol/types.ts';
import { formatFidelity, measureFidelity } from '../runtime/fidelity.ts';

export type { ModelSummary };

/** Chat prompts the fidelity report runs (through the chat template when the checkpoint has one). */
const FIDELITY_PROMPTS = ['How do I bake bread?', 'What is the capital of France?', 'Write a short poem about rain.', 'Explain how a lock works.'];
const FIDELITY_STEPS = 24;

export async function runInspect(opts: { model: string; context?: number; fidelity?: boolean; threads: number; json?: boolean }): Promise<void> {
  const checkpoint = openCheckpoint(opts.model);
  const summary = summarizeCheckpoint(checkpoint);
  const memory = memoryEstimates(checkpoint, opts.context, opts.threads);
  let fidelity;
  if (opts.fidelity) {
    const tokenizer = await loadTokenizer(checkpoint.dir, checkpoint.config);
    const prompts = FIDELITY_PROMPTS.map((text) => tokenizer.hasChatTemplate
      ? tokenizer.encode(tokenizer.applyChatTemplate([{ role: 'user', content: text }], { addGenerationPrompt: true }), { addSpecialTokens: false })
      : tokenizer.encode(text));
    fidelity = await measureFidelity(checkpoint, prompts, FIDELITY_STEPS, ['bf16-as-f32', 'int8', 'int4'],
      { threads: opts.threads, context: memory.context });
  }
  if (opts.json) return console.log(JSON.stringify({ ...summary, memory, ...(fidelity ? { fidelity } : {}) }, null, 2));
  console.log(formatSummary(summary));
  console.log(formatMemory(memory));
  if (fidelity) console.log(`\nagreement with float32 (${FIDELITY_PROMPTS.length} prompts + ${FIDELITY_STEPS} greedy tokens each):\n${formatFidelity(fidelity)}`);
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

export function formatMemory(m: MemoryEstimates): string {
  const rows = m.estimates.map((e) => `  ${e.precision.padEnd(5)} ${bytes(e.total).padStart(10)}  (weights ${bytes(e.weights)}, KV cache ${bytes(e.kvCache)}, workspace ${bytes(e.workspace)})`);
  return [`memory at a context of ${m.context} tokens${m.context < m.modelContext ? ` (of ${m.modelContext}; --context to change)` : ''}, ${bytes(m.available)} available:`,
    ...rows, `  auto picks ${m.auto ?? 'nothing: no precision fits'}`].join('\n');
}

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
    ['checkpoint', s.checkpoint],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
