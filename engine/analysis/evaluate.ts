import type { TextTokenizer } from '../model/tokenizer.ts';
import { answerFound, classifyOutput } from '../probes/classify.ts';
import { expandProbeSet } from '../probes/expand.ts';
import type { ProbePrompt, ProbeSet } from '../probes/probe-set.ts';
import { tokenizePrompts } from '../probes/prompt-tokens.ts';
import { generate } from '../runtime/generate.ts';
import type { ModelRunner } from '../runtime/model-runner.ts';
import { seededRandom } from '../runtime/sampling.ts';
import { EMPTY_MASK, type ExpertMask, type MaskEntry } from '../steering/mask.ts';
import type { ConditionResult, EvaluationResult } from '../protocol/types.ts';

export type { ConditionResult, EvaluationResult };

export interface EvaluationOptions {
  set: ProbeSet;
  /** The set's file, which errors name. */
  setPath: string;
  /** Its entries in rank order (best first): the dose-response takes prefixes of it. */
  mask: ExpertMask;
  /** Output label that counts as the behaviour (default: the classifier's first rule). */
  behaviour?: string;
  /** Prompt class the behaviour is expected on (default: the behaviour label when it is a class, else the first class). */
  targetClass?: string;
  randomControls: number;
  /** Dose-response over the first 1…dose mask entries (0 = none). */
  dose: number;
  maxTokens: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, condition: string) => void;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));

/** Same number of experts in each layer as `entries`, drawn uniformly from the experts the mask does not name. */
function randomMaskLike(entries: MaskEntry[], experts: number, seed: number): MaskEntry[] {
  const random = seededRandom(seed);
  const byLayer = new Map<number, MaskEntry[]>();
  for (const e of entries) byLayer.set(e.layer, [...(byLayer.get(e.layer) ?? []), e]);
  return [...byLayer].flatMap(([layer, named]) => {
    const pool = Array.from({ length: experts }, (_, e) => e).filter((e) => !named.some((n) => n.expert === e));
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    return named.map((n, i) => ({ layer, expert: pool[i], state: n.state }));
  });
}

/** MoTE evaluation (issue: fTRI §5): behaviour rate and benign accuracy with and without a mask, against controls. */
export async function evaluateMask(runner: ModelRunner, tokenizer: TextTokenizer, opts: EvaluationOptions): Promise<EvaluationResult> {
  const { set } = opts;
  if (!set.classifier) throw new Error(`probe set ${set.id} has no classifier, so outputs cannot be labelled`);
  const classifier = set.classifier;
  const behaviour = opts.behaviour ?? classifier.rules[0]?.label;
  if (!behaviour) throw new Error(`probe set ${set.id}: the classifier has no rules`);
  const classes = set.classes.map((c) => c.id);
  const targetClass = opts.targetClass ?? (classes.includes(behaviour) ? behaviour : classes[0]);
  if (!classes.includes(targetClass)) throw new Error(`class ${targetClass} is not in probe set ${set.id} (classes: ${classes.join(', ')})`);
  const prompts = expandProbeSet(set).filter((p) => p.response === undefined);
  const target = prompts.filter((p) => p.class === targetClass);
  const benign = prompts.filter((p) => p.class !== targetClass);
  const inputs = tokenizePrompts(set, opts.setPath, prompts, tokenizer, runner.spec.contextLength);

  const forcedEntries: MaskEntry[] = [];
  for (const e of opts.mask.entries) {
    if (forcedEntries.filter((f) => f.layer === e.layer).length < runner.spec.topK) forcedEntries.push({ ...e, state: 'forced' });
  }
  const plan: { name: string; mask: ExpertMask; prompts: ProbePrompt[] }[] = [
    { name: 'baseline', mask: EMPTY_MASK, prompts },
    { name: 'mask', mask: opts.mask, prompts },
    ...Array.from({ length: opts.randomControls }, (_, i) => ({
      name: `random ${i + 1}`, mask: { ...opts.mask, entries: randomMaskLike(opts.mask.entries, runner.spec.numExperts, i + 1) }, prompts,
    })),
    ...Array.from({ length: Math.min(opts.dose, opts.mask.entries.length) }, (_, i) => ({
      name: `top ${i + 1}`, mask: { ...opts.mask, entries: opts.mask.entries.slice(0, i + 1) }, prompts: target,
    })),
    ...(forcedEntries.length ? [{ name: 'forced on benign', mask: { ...opts.mask, entries: forcedEntries }, prompts: benign }] : []),
  ];
  for (const step of plan) runner.steering(step.mask, `evaluation condition "${step.name}"`);
  const total = plan.reduce((a, s) => a + s.prompts.length, 0);
  let done = 0;

  const runCondition = async (name: string, mask: ExpertMask, subset: ProbePrompt[]): Promise<ConditionResult> => {
    const labels = new Map<number, { label: string; correct: boolean | null }>();
    for (const p of subset) {
      if (opts.signal?.aborted) throw new Error('evaluation cancelled');
      let text = '';
      for await (const e of generate(runner, tokenizer, inputs.get(p.index)!.ids, { maxTokens: opts.maxTokens, mask, eosTokenIds: tokenizer.eosTokenIds })) {
        if (e.type === 'done') text = e.text;
      }
      labels.set(p.index, { label: classifyOutput(classifier, text), correct: p.answer === undefined ? null : answerFound(p.answer, text) });
      opts.onProgress?.(++done, total, name);
    }
    const share = (ps: ProbePrompt[], test: (p: ProbePrompt) => boolean | null) => {
      const values = ps.filter((p) => labels.has(p.index)).map(test).filter((v): v is boolean => v !== null);
      return values.length ? values.filter(Boolean).length / values.length : null;
    };
    return {
      name,
      entries: mask.entries.length,
      behaviourRate: share(target, (p) => labels.get(p.index)!.label === behaviour),
      benignAccuracy: share(benign, (p) => labels.get(p.index)!.correct),
      benignBehaviourRate: share(benign, (p) => labels.get(p.index)!.label === behaviour),
    };
  };

  const results: ConditionResult[] = [];
  for (const step of plan) results.push(await runCondition(step.name, step.mask, step.prompts));
  const randoms = results.filter((r) => r.name.startsWith('random '));
  const accuracies = randoms.map((r) => r.benignAccuracy).filter((v): v is number => v !== null);
  return {
    setId: set.id,
    behaviour,
    targetClass,
    targetPrompts: target.length,
    benignPrompts: benign.length,
    baseline: results[0],
    masked: results[1],
    randomControls: randoms,
    randomSummary: randoms.length ? {
      behaviourMean: mean(randoms.map((r) => r.behaviourRate ?? 0)),
      behaviourSd: sd(randoms.map((r) => r.behaviourRate ?? 0)),
      accuracyMean: accuracies.length ? mean(accuracies) : null,
      accuracySd: accuracies.length ? sd(accuracies) : null,
    } : null,
    dose: results.filter((r) => r.name.startsWith('top ')),
    forced: results.find((r) => r.name === 'forced on benign') ?? null,
  };
}
