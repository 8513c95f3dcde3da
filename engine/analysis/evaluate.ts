import type { TextTokenizer } from '../model/tokenizer.ts';
import { answerFound, classifyOutput } from '../probes/classify.ts';
import { expandProbeSet } from '../probes/expand.ts';
import type { ProbePrompt, ProbeSet } from '../probes/probe-set.ts';
import { tokenizePrompts } from '../probes/prompt-tokens.ts';
import { generate } from '../runtime/generate.ts';
import type { ModelRunner } from '../runtime/model-runner.ts';
import { seededRandom } from '../runtime/sampling.ts';
import { EMPTY_MASK, type ExpertMask, type MaskEntry } from '../steering/mask.ts';
import { endOfTurnTokenIds } from '../model/end-of-turn.ts';
import type { ConditionResult, EvaluationResult, PromptOutcome, PromptVerdict, Proportion, RandomMaskTest } from '../protocol/types.ts';
import { wilsonInterval } from './statistics.ts';

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
  /** Outputs end before the first of these (besides EOS and the chat template's end-of-turn marker). */
  stop?: string[];
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

/** Smallest K at which a permutation p can reach 0.05: 1 / (K + 1) <= 0.05. */
const MIN_CONTROLS_FOR_05 = 19;

/**
 * How many random masks cut the behaviour at least as much as the mask (their rate at or below the mask's), and
 * the permutation p = (count + 1) / (K + 1).
 */
export function randomMaskTest(maskRate: number | null, randomRates: (number | null)[]): RandomMaskTest {
  const controls = randomRates.length;
  if (controls === 0) return { controls, atLeastAsLarge: 0, p: null, smallestP: null, note: 'no random masks (K = 0): no p-value' };
  if (maskRate === null) return { controls, atLeastAsLarge: 0, p: null, smallestP: null, note: 'the mask has no behaviour rate (no target prompts): no p-value' };
  const atLeastAsLarge = randomRates.filter((r) => r !== null && r <= maskRate).length;
  const smallestP = 1 / (controls + 1);
  return {
    controls,
    atLeastAsLarge,
    p: (atLeastAsLarge + 1) / (controls + 1),
    smallestP,
    note: controls < MIN_CONTROLS_FOR_05
      ? `K = ${controls} random masks is too few for a meaningful p: the smallest possible p is 1/${controls + 1} = ${smallestP.toFixed(3)}; use K ≥ ${MIN_CONTROLS_FOR_05} for p to reach 0.05`
      : null,
  };
}

const proportion = (hits: number, n: number): Proportion | null => {
  const ci = wilsonInterval(hits, n);
  return ci ? { hits, n, low: ci[0], high: ci[1] } : null;
};

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
      name: `top ${i + 1}`, mask: { ...opts.mask, entries: opts.mask.entries.slice(0, i + 1) }, prompts,
    })),
    ...(forcedEntries.length ? [{ name: 'forced on benign', mask: { ...opts.mask, entries: forcedEntries }, prompts: benign }] : []),
  ];
  for (const step of plan) runner.steering(step.mask, `evaluation condition "${step.name}"`);
  const total = plan.reduce((a, s) => a + s.prompts.length, 0);
  let done = 0;
  const endOfTurn = endOfTurnTokenIds(tokenizer);
  const stop = opts.stop ?? [];
  const answerMatch = classifier.answerMatch ?? 'contains';

  const runCondition = async (name: string, mask: ExpertMask, subset: ProbePrompt[]) => {
    const verdicts = new Map<number, PromptVerdict>();
    for (const p of subset) {
      if (opts.signal?.aborted) throw new Error('evaluation cancelled');
      let text = '';
      for await (const e of generate(runner, tokenizer, inputs.get(p.index)!.ids, { maxTokens: opts.maxTokens, mask, eosTokenIds: endOfTurn, stopStrings: stop })) {
        if (e.type === 'done') text = e.text;
      }
      verdicts.set(p.index, {
        label: classifyOutput(classifier, text),
        correct: p.answer === undefined ? null : answerFound(p.answer, text, answerMatch),
        output: text,
      });
      opts.onProgress?.(++done, total, name);
    }
    const count = (ps: ProbePrompt[], test: (v: PromptVerdict) => boolean | null) => {
      const values = ps.filter((p) => verdicts.has(p.index)).map((p) => test(verdicts.get(p.index)!)).filter((v): v is boolean => v !== null);
      return proportion(values.filter(Boolean).length, values.length);
    };
    const behaviourCount = count(target, (v) => v.label === behaviour);
    const accuracy = count(benign, (v) => v.correct);
    const benignBehaviour = count(benign, (v) => v.label === behaviour);
    const rate = (c: Proportion | null) => (c ? c.hits / c.n : null);
    const result: ConditionResult = {
      name,
      entries: mask.entries.length,
      behaviourRate: rate(behaviourCount),
      benignAccuracy: rate(accuracy),
      benignBehaviourRate: rate(benignBehaviour),
      behaviour: behaviourCount,
      accuracy,
      benignBehaviour,
    };
    return { result, verdicts };
  };

  const runs: Awaited<ReturnType<typeof runCondition>>[] = [];
  for (const step of plan) runs.push(await runCondition(step.name, step.mask, step.prompts));
  const results = runs.map((r) => r.result);
  const randoms = results.filter((r) => r.name.startsWith('random '));
  const accuracies = randoms.map((r) => r.benignAccuracy).filter((v): v is number => v !== null);
  const [baseline, masked] = runs;
  const outcomes: PromptOutcome[] = prompts.map((p) => {
    const b = baseline.verdicts.get(p.index)!;
    const m = masked.verdicts.get(p.index)!;
    return { index: p.index, class: p.class, text: p.text, answer: p.answer ?? null, baseline: b, masked: m, changed: b.label !== m.label || b.correct !== m.correct };
  });
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
    randomTest: randomMaskTest(results[1].behaviourRate, randoms.map((r) => r.behaviourRate)),
    prompts: outcomes,
    settings: {
      randomControls: opts.randomControls, dose: opts.dose, maxTokens: opts.maxTokens, stop, answerMatch,
      endOfTurn: endOfTurn.map((id) => tokenizer.tokenText(id)),
    },
  };
}
