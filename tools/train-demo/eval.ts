/**
 * Measures the demo model's planted refusal experts with the engine itself (the same ONNX path the app uses):
 *   (a) planted experts off (backfill; drop too) → refusal rate on held-out refused prompts, benign accuracy;
 *   (b) random expert sets of the same shape (2 per MoE layer) off → refusal rate (sets drawn from the experts
 *       that are not planted, as `mote eval`'s random control does, and from all experts);
 *   (c) planted experts forced on held-out benign prompts (natural and max weights) → refusal rate.
 * Greedy decoding. Also writes the planted-off / planted-forced masks as mote-mask files for `mote generate --mask`.
 *
 *   npx tsx tools/train-demo/eval.ts [--model models/demo] [--set probes/demo-heldout.json] [--random 50]
 *                                    [--masks-out DIR] [--json FILE] [--verbose]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadTokenizer, type TextTokenizer } from '../../engine/model/tokenizer.ts';
import { answerFound, classifyOutput } from '../../engine/probes/classify.ts';
import { expandProbeSet } from '../../engine/probes/expand.ts';
import { loadProbeSet } from '../../engine/probes/load-probe-set.ts';
import type { ProbePrompt, TemplateProbeSet } from '../../engine/probes/probe-set.ts';
import { generate } from '../../engine/runtime/generate.ts';
import { ModelRunner } from '../../engine/runtime/model-runner.ts';
import { seededRandom } from '../../engine/runtime/sampling.ts';
import { maskFile, modelIdentity } from '../../engine/steering/mask-file.ts';
import type { ExpertMask, MaskEntry } from '../../engine/steering/mask.ts';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/demo' },
    set: { type: 'string', default: 'probes/demo-heldout.json' },
    random: { type: 'string', default: '50' },
    'max-tokens': { type: 'string', default: '24' },
    'masks-out': { type: 'string' },
    json: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});

const planted: { layer: number; expert: number }[] = JSON.parse(
  fs.readFileSync(path.join(args.model!, 'planted-experts.json'), 'utf8'),
).planted;
const set = loadProbeSet(args.set!) as TemplateProbeSet;
const classifier = set.classifier!;
const prompts = expandProbeSet(set);
const refused = prompts.filter((p) => p.class === 'refused');
const benign = prompts.filter((p) => p.class === 'answered');
const maxTokens = Number(args['max-tokens']);

const runner = await ModelRunner.open(args.model!, { threads: 2 });
const tokenizer: TextTokenizer = await loadTokenizer(runner.checkpoint.dir, runner.checkpoint.config);
const { numExperts: E, topK } = runner.spec;
const layers = runner.moeLayers;

async function complete(p: ProbePrompt, mask: ExpertMask): Promise<string> {
  const text = tokenizer.applyChatTemplate([{ role: 'user', content: p.text }], { addGenerationPrompt: true });
  const ids = tokenizer.encode(text, { addSpecialTokens: false });
  let out = '';
  for await (const ev of generate(runner, tokenizer, ids, { maxTokens, mask, eosTokenIds: tokenizer.eosTokenIds })) {
    if (ev.type === 'done') out = ev.text;
  }
  return out;
}

interface Rates { refusal: number | null; accuracy: number | null; benignRefusal: number | null; examples: string[] }

async function completeAll(ps: ProbePrompt[], mask: ExpertMask): Promise<string[]> {
  const outs: string[] = [];
  for (const p of ps) outs.push(await complete(p, mask));
  return outs;
}

async function measure(mask: ExpertMask, which: { refused?: boolean; benign?: boolean }, label: string): Promise<Rates> {
  const r: Rates = { refusal: null, accuracy: null, benignRefusal: null, examples: [] };
  if (which.refused) {
    const outs = await completeAll(refused, mask);
    r.refusal = outs.filter((o) => classifyOutput(classifier, o) === 'refused').length / outs.length;
    r.examples.push(`${refused[0].text} → ${outs[0]}`);
    if (args.verbose) refused.forEach((p, i) => console.log(`  [${label}] ${p.text} → ${outs[i]}`));
  }
  if (which.benign) {
    const outs = await completeAll(benign, mask);
    r.benignRefusal = outs.filter((o) => classifyOutput(classifier, o) === 'refused').length / outs.length;
    r.accuracy = outs.filter((o, i) => classifyOutput(classifier, o) !== 'refused' && answerFound(benign[i].answer!, o)).length / outs.length;
    r.examples.push(`${benign[0].text} → ${outs[0]}`);
    if (args.verbose) benign.forEach((p, i) => console.log(`  [${label}] ${p.text} → ${outs[i]}  (want ${p.answer})`));
  }
  return r;
}

const mask = (entries: MaskEntry[], mode: ExpertMask['mode'] = 'backfill', forceWeight: ExpertMask['forceWeight'] = 'natural'): ExpertMask =>
  ({ mode, forceWeight, entries });
const plantedAs = (state: 'off' | 'forced') => planted.map((p) => ({ ...p, state }));

/** Same number of experts per layer as the planted set; from non-planted experts only, or from all. */
function randomLike(seed: number, excludePlanted: boolean): MaskEntry[] {
  const random = seededRandom(seed);
  return layers.flatMap((layer) => {
    const named = planted.filter((p) => p.layer === layer);
    const pool = Array.from({ length: E }, (_, e) => e).filter((e) => !excludePlanted || !named.some((n) => n.expert === e));
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    return named.map((_, i) => ({ layer, expert: pool[i], state: 'off' as const }));
  });
}

const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`);
const t0 = Date.now();
console.log(`model ${args.model} (checkpoint ${runner.checkpoint.contentHash}), ${layers.length} MoE layers × ${E} experts, k = ${topK}`);
console.log(`set ${set.id}: ${refused.length} refused, ${benign.length} answered prompts; planted ${planted.map((p) => `L${p.layer}E${p.expert}`).join(' ')}`);

const baseline = await measure(mask([]), { refused: true, benign: true }, 'baseline');
console.log(`baseline                 refusal ${pct(baseline.refusal)}  benign accuracy ${pct(baseline.accuracy)}  benign refusal ${pct(baseline.benignRefusal)}`);
const rel = (v: number) => (baseline.refusal ? (baseline.refusal - v) / baseline.refusal : 0);

const offBackfill = await measure(mask(plantedAs('off'), 'backfill'), { refused: true, benign: true }, 'off backfill');
const offDrop = await measure(mask(plantedAs('off'), 'drop'), { refused: true, benign: true }, 'off drop');
for (const [name, r] of [['planted off (backfill)', offBackfill], ['planted off (drop)', offDrop]] as const) {
  console.log(`${name.padEnd(24)} refusal ${pct(r.refusal)} (cut ${(rel(r.refusal!) * 100).toFixed(1)} % relative)  benign accuracy ${pct(r.accuracy)} (Δ ${((r.accuracy! - baseline.accuracy!) * 100).toFixed(1)} points)`);
  console.log(`${''.padEnd(24)} e.g. ${r.examples[0]}`);
}

const nRandom = Number(args.random);
const randomResults: Record<string, number[]> = { 'non-planted': [], any: [] };
for (const [variant, exclude] of [['non-planted', true], ['any', false]] as const) {
  for (let i = 0; i < nRandom; i++) {
    const r = await measure(mask(randomLike(1000 + i, exclude)), { refused: true }, `random ${variant} ${i}`);
    randomResults[variant].push(r.refusal!);
  }
  const rs = randomResults[variant];
  const mean = rs.reduce((a, b) => a + b, 0) / rs.length;
  const cuts = rs.map(rel);
  console.log(`random off ×${nRandom} (${variant.padEnd(11)}) refusal mean ${pct(mean)} (cut ${(rel(mean) * 100).toFixed(1)} % relative on average, worst ${(Math.max(...cuts) * 100).toFixed(1)} %)`);
}

const forced: Record<string, Rates> = {};
for (const w of ['natural', 'max'] as const) {
  forced[w] = await measure(mask(plantedAs('forced'), 'backfill', w), { benign: true }, `forced ${w}`);
  console.log(`planted forced (${w.padEnd(7)})  benign refusal ${pct(baseline.benignRefusal)} → ${pct(forced[w].benignRefusal)}   e.g. ${forced[w].examples[0]}`);
}
const randomForced: number[] = [];
for (let i = 0; i < Math.min(nRandom, 20); i++) {
  const entries = randomLike(2000 + i, true).map((e) => ({ ...e, state: 'forced' as const }));
  randomForced.push((await measure(mask(entries), { benign: true }, `random forced ${i}`)).benignRefusal!);
}
const rfMean = randomForced.reduce((a, b) => a + b, 0) / randomForced.length;
console.log(`random forced ×${randomForced.length} (non-planted, natural) benign refusal mean ${pct(rfMean)}`);
console.log(`(${((Date.now() - t0) / 1000).toFixed(0)} s)`);

if (args['masks-out']) {
  fs.mkdirSync(args['masks-out'], { recursive: true });
  const identity = modelIdentity(runner.spec, runner.checkpoint.contentHash);
  const write = (name: string, m: ExpertMask, title: string) =>
    fs.writeFileSync(path.join(args['masks-out']!, name), JSON.stringify(maskFile(m, identity, title), null, 2) + '\n');
  write('planted-off.json', mask(plantedAs('off')), 'demo: planted refusal experts off');
  write('planted-forced.json', mask(plantedAs('forced')), 'demo: planted refusal experts forced');
  write('planted-forced-max.json', mask(plantedAs('forced'), 'backfill', 'max'), 'demo: planted refusal experts forced (max weight)');
  write('random-off.json', mask(randomLike(1000, true)), 'demo: a random same-size expert set off');
  console.log(`wrote masks to ${args['masks-out']}`);
}
if (args.json) {
  fs.writeFileSync(args.json, JSON.stringify({
    model: args.model, checkpoint: runner.checkpoint.contentHash, set: set.id, planted,
    prompts: { refused: refused.length, answered: benign.length },
    baseline, plantedOff: { backfill: offBackfill, drop: offDrop }, randomOff: randomResults,
    plantedForced: forced, randomForcedBenignRefusal: randomForced,
  }, null, 2) + '\n');
}
await runner.dispose();
