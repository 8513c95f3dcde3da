import type { ReadableDB } from '../store/database.ts';
import { getCounts, getRun } from '../store/runs.ts';
import type { Span } from '../store/span-counts.ts';
import { competitionRanks } from '../common/ranking-ties.ts';
import { benjaminiHochberg, rateDifferenceP } from './statistics.ts';

import type { ExpertScore, Ranking, RankMethod } from '../protocol/types.ts';

/**
 * MoTE: mean per-prompt activation map of the target class minus that of the other prompts (a prompt's map is the
 * share of its span tokens routed to each expert). RD (SteerMoE): risk difference of token-level activation rates.
 * p: rate-difference test on token counts (Fisher exact on small margins, two-proportion z otherwise); q:
 * Benjamini–Hochberg over every (layer, expert) of the run. Sorted by score, best first; equal scores share a
 * competition rank and are listed by TIE_ORDER.
 */
export function rankExperts(db: ReadableDB, runId: number, target: string, method: RankMethod, span: Span): Ranking {
  const run = getRun(db, runId);
  if (!run) throw new Error(`run ${runId} does not exist`);
  const { classes, counts } = getCounts(db, runId, span);
  const declared = run.set.classes.map((c) => c.id);
  if (!declared.includes(target)) throw new Error(`class ${JSON.stringify(target)} is not in run ${runId}'s probe set (classes: ${declared.join(', ')})`);
  const targetTotal = classes.find((c) => c.class === target) ?? { tokens: 0, prompts: 0 };
  const others = classes.filter((c) => c.class !== target);
  const otherTotal = { tokens: others.reduce((a, c) => a + c.tokens, 0), prompts: others.reduce((a, c) => a + c.prompts, 0) };
  if (targetTotal.prompts === 0) throw new Error(`run ${runId} has no recorded ${span} tokens of class ${target}`);
  if (otherTotal.prompts === 0) throw new Error(`run ${runId} has no recorded ${span} tokens outside class ${target} to compare with`);

  const E = run.numExperts;
  const cell = (layer: number, expert: number) => run.moeLayers.indexOf(layer) * E + expert;
  const n = run.moeLayers.length * E;
  const hits = { target: new Float64Array(n), other: new Float64Array(n) };
  const rateSums = { target: new Float64Array(n), other: new Float64Array(n) };
  for (const c of counts) {
    const side = c.class === target ? 'target' : 'other';
    hits[side][cell(c.layer, c.expert)] += c.hits;
    rateSums[side][cell(c.layer, c.expert)] += c.promptRateSum;
  }
  const raw: ExpertScore[] = run.moeLayers.flatMap((layer) => Array.from({ length: E }, (_, expert) => {
    const i = cell(layer, expert);
    const rateTarget = hits.target[i] / targetTotal.tokens;
    const rateOther = hits.other[i] / otherTotal.tokens;
    const meanTarget = rateSums.target[i] / targetTotal.prompts;
    const meanOther = rateSums.other[i] / otherTotal.prompts;
    const { p } = rateDifferenceP(hits.target[i], targetTotal.tokens, hits.other[i], otherTotal.tokens);
    return { layer, expert, score: method === 'mote' ? meanTarget - meanOther : rateTarget - rateOther, rateTarget, rateOther, meanTarget, meanOther, p, q: 1, rank: 0 };
  }));
  benjaminiHochberg(raw.map((r) => r.p)).forEach((q, i) => { raw[i].q = q; });
  raw.sort((a, b) => b.score - a.score || a.p - b.p || a.layer - b.layer || a.expert - b.expert);
  competitionRanks(raw.map((r) => r.score)).forEach((rank, i) => { raw[i].rank = rank; });
  return {
    runId, target, method, span, layers: run.moeLayers, experts: E,
    targetPrompts: targetTotal.prompts, otherPrompts: otherTotal.prompts, scores: raw,
  };
}
