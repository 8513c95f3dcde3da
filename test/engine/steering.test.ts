import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ModelRunner } from '../../engine/runtime/model-runner.ts';
import { MAX_FORCE_EPSILON, type ExpertMask, type MaskEntry } from '../../engine/steering/mask.ts';
import { writeTinyCheckpoint } from '../helpers/checkpoints.ts';
import { greedyWithCache, maxAbsDiff, openRunner, type TokenRouting } from '../helpers/engine-run.ts';
import { Prng } from '../helpers/prng.ts';

const FAMILIES = ['mixtral', 'qwen2_moe', 'qwen3_moe', 'olmoe'] as const;
const E = 16;
const K = 4;

function softmax(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function ranked(z: number[]): number[] {
  return [...z.keys()].sort((a, b) => z[b] - z[a] || a - b);
}

/** DESIGN §5 restated over one token's router logits: which experts run, with what weights. */
function expectedRouting(z: number[], layerEntries: MaskEntry[], mask: ExpertMask, normalize: boolean) {
  const off = new Set(layerEntries.filter((e) => e.state === 'off').map((e) => e.expert));
  const forced = layerEntries.filter((e) => e.state === 'forced').map((e) => e.expert);
  const rest = mask.mode === 'backfill'
    ? ranked(z).filter((e) => !off.has(e) && !forced.includes(e)).slice(0, K - forced.length)
    : ranked(z).slice(0, K).filter((e) => !forced.includes(e)).slice(0, K - forced.length).filter((e) => !off.has(e));
  const logits = [...z];
  if (mask.forceWeight === 'max') for (const f of forced) logits[f] = Math.max(...z) + MAX_FORCE_EPSILON;
  const p = softmax(logits);
  const selected = [...forced, ...rest];
  let weights = selected.map((e) => p[e]);
  const total = weights.reduce((a, b) => a + b, 0);
  if (normalize && total > 0) weights = weights.map((w) => w / total);
  return { selected, forced, rest, weights };
}

describe('steering semantics on every family (16 experts, k = 4)', () => {
  const runners = new Map<string, ModelRunner>();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-steer-'));
  before(async () => {
    for (const family of FAMILIES) {
      const dir = path.join(root, family);
      const experts = family === 'mixtral' ? { num_local_experts: E } : { num_experts: E };
      writeTinyCheckpoint(dir, { family, seed: 7, config: { ...experts, num_experts_per_tok: K } });
      runners.set(family, await openRunner(dir));
    }
  });
  after(async () => {
    for (const r of runners.values()) await r.dispose();
  });

  for (const family of FAMILIES) {
    for (const mode of ['backfill', 'drop'] as const) {
      for (const forceWeight of ['natural', 'max'] as const) {
        it(`${family}: ${mode}, ${forceWeight}: off never chosen, forced always chosen, slots and weights follow the rule`, async () => {
          const runner = runners.get(family)!;
          const rng = new Prng(mode.length * 31 + forceWeight.length);
          const int = (n: number) => Math.floor(rng.uniform() * n);
          const entries: MaskEntry[] = [];
          for (const layer of runner.moeLayers) {
            const experts = [...Array(E).keys()].map((e) => ({ e, key: rng.uniform() })).sort((a, b) => a.key - b.key).map(({ e }) => e);
            experts.slice(0, 5).forEach((expert) => entries.push({ layer, expert, state: 'off' }));
            experts.slice(5, 7).forEach((expert) => entries.push({ layer, expert, state: 'forced' }));
          }
          const mask: ExpertMask = { mode, forceWeight, entries };
          const prompt = Array.from({ length: 12 }, () => 2 + int(60));
          const run = await greedyWithCache(runner, prompt, 4, runner.steering(mask));
          let droppedSlots = 0;
          runner.moeLayers.forEach((layer, l) => {
            const layerEntries = entries.filter((e) => e.layer === layer);
            run.routing[l].forEach((tok: TokenRouting, t) => {
              const want = expectedRouting(tok.routerLogits, layerEntries, mask, runner.spec.normTopkProb);
              for (const e of layerEntries) {
                if (e.state === 'off') assert.ok(!tok.selected.includes(e.expert), `layer ${layer} token ${t}: off expert ${e.expert} chosen`);
                else assert.ok(tok.selected.slice(0, 2).includes(e.expert), `layer ${layer} token ${t}: forced expert ${e.expert} missing`);
              }
              assert.deepEqual(new Set(tok.selected.slice(0, 2)), new Set(want.forced), `layer ${layer} token ${t}: forced first`);
              assert.deepEqual(tok.selected.slice(2), want.rest, `layer ${layer} token ${t}: remaining slots`);
              if (mode === 'backfill') assert.equal(tok.selected.length, K);
              droppedSlots += K - tok.selected.length;
              const byExpert = new Map(want.selected.map((e, j) => [e, want.weights[j]]));
              tok.selected.forEach((e, j) => assert.ok(Math.abs(tok.weights[j] - byExpert.get(e)!) < 1e-5, `layer ${layer} token ${t} expert ${e}: weight ${tok.weights[j]} vs ${byExpert.get(e)}`));
              if (forceWeight === 'max') {
                const top = Math.max(...tok.weights);
                for (const f of want.forced) assert.ok(tok.weights[tok.selected.indexOf(f)] >= top - 1e-6, 'max: forced experts carry the top weight');
              }
            });
          });
          if (mode === 'drop') assert.ok(droppedSlots > 0, 'drop mode left some slot empty (5 of 16 experts off)');
        });
      }
    }
  }

  for (const family of FAMILIES) {
    it(`${family}: unsteered steps (routing graph, selection recorded on the host) match the steered graph under a no-op mask`, async () => {
      const runner = runners.get(family)!;
      const prompt = [3, 8, 21, 34, 55, 7, 13, 2, 40, 41];
      const unsteered = runner.steering();
      assert.equal(unsteered.active, false);
      const plain = await greedyWithCache(runner, prompt, 3, unsteered);
      const steered = await greedyWithCache(runner, prompt, 3, { ...unsteered, active: true });
      assert.deepEqual(plain.generated, steered.generated);
      plain.prefillLogits.forEach((row, t) => assert.ok(maxAbsDiff(row, steered.prefillLogits[t]) < 1e-4, `prefill logits, token ${t}`));
      runner.moeLayers.forEach((layer, l) => plain.routing[l].forEach((tok, t) => {
        const other = steered.routing[l][t];
        assert.deepEqual(tok.selected, other.selected, `layer ${layer} token ${t}: selection`);
        assert.ok(maxAbsDiff(tok.weights, other.weights) < 1e-5, `layer ${layer} token ${t}: weights ${tok.weights} vs ${other.weights}`);
        assert.ok(maxAbsDiff(tok.routerLogits, other.routerLogits) < 1e-4, `layer ${layer} token ${t}: router logits`);
      }));
    });
  }

  it('drop and backfill agree where no off expert was in the original top-k, and differ where one was', async () => {
    const runner = runners.get('qwen3_moe')!;
    const layer = runner.moeLayers[0];
    const entries: MaskEntry[] = [0, 1, 2, 3, 4, 5].map((expert) => ({ layer, expert, state: 'off' as const }));
    const prompt = [5, 9, 13, 17, 21, 25, 29, 33];
    const base = await greedyWithCache(runner, prompt, 0, runner.steering());
    const backfill = await greedyWithCache(runner, prompt, 0, runner.steering({ mode: 'backfill', forceWeight: 'natural', entries }));
    const drop = await greedyWithCache(runner, prompt, 0, runner.steering({ mode: 'drop', forceWeight: 'natural', entries }));
    let differing = 0;
    base.routing[0].forEach((tok, t) => {
      const hit = tok.selected.filter((e) => e <= 5);
      assert.deepEqual(drop.routing[0][t].selected, tok.selected.filter((e) => e > 5), `token ${t}: drop keeps the original top-k minus off experts`);
      if (hit.length === 0) assert.deepEqual(backfill.routing[0][t].selected, tok.selected);
      else {
        differing++;
        assert.equal(backfill.routing[0][t].selected.length, K);
        assert.equal(drop.routing[0][t].selected.length, K - hit.length);
      }
    });
    assert.ok(differing > 0, 'some token had an off expert in its top-k');
  });

  it('rejects masks that do not fit, with a message naming the problem', () => {
    const runner = runners.get('qwen2_moe')!;
    const fits = (entries: MaskEntry[]) => () => runner.steering({ mode: 'backfill', forceWeight: 'natural', entries }, 'my-mask.json');
    assert.throws(fits([{ layer: 9, expert: 0, state: 'off' }]), /my-mask\.json does not fit.*layer 9 is not a MoE layer/);
    assert.throws(fits([{ layer: 0, expert: E, state: 'off' }]), new RegExp(`expert must be an integer in 0…${E - 1}`));
    assert.throws(fits([{ layer: 1, expert: 0, state: 'off' }]), /layer 1 is not a MoE layer of this model \(MoE layers: 0, 2\)/);
    const five = [0, 1, 2, 3, 4].map((expert) => ({ layer: 2, expert, state: 'forced' as const }));
    assert.throws(fits(five), /layer 2: 5 experts forced, but only 4 are selected per token/);
    assert.throws(fits([{ layer: 0, expert: 3, state: 'off' }, { layer: 0, expert: 3, state: 'forced' }]), /listed as both off and forced/);
  });
});
