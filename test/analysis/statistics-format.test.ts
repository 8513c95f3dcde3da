import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { competitionRanks, cutWithTies, isTied, tieAtCut } from '../../engine/common/ranking-ties.ts';
import { formatP, formatScore } from '../../engine/common/statistics-format.ts';

describe('statistics formatter', () => {
  it('writes p- and q-values far below float32 as they are', () => {
    assert.equal(formatP(1.8234e-104), '1.8e-104');
    assert.equal(formatP(Math.fround(1.8234e-104)), '< 1e-300', 'what float32 storage made of it');
    assert.equal(formatP(5e-324), '4.9e-324');
    assert.equal(formatP(0), '< 1e-300');
    assert.equal(formatP(0.00009), '9.0e-5');
    assert.equal(formatP(0.0001), '0.0001');
    assert.equal(formatP(0.04999), '0.0500');
    assert.equal(formatP(1), '1.0000');
    assert.equal(formatP(NaN), '–');
  });

  it('writes scores with an ASCII sign and no signed zero', () => {
    assert.equal(formatScore(0.53), '+0.530');
    assert.equal(formatScore(-0.07), '-0.070');
    assert.equal(formatScore(-0.0004), '0.000');
    assert.equal(formatScore(0), '0.000');
    assert.equal(formatScore(1), '+1.000');
  });
});

describe('ranking ties', () => {
  it('competition ranks: equal scores share the first rank of their run', () => {
    assert.deepEqual(competitionRanks([0.9, 0.5, 0.5, 0.5, 0.1, 0.1]), [1, 2, 2, 2, 5, 5]);
    const ranks = [1, 2, 2, 2, 5, 5];
    assert.deepEqual(tieAtCut(ranks, 2), { rank: 2, size: 3, kept: 1, left: 2 });
    assert.deepEqual(tieAtCut(ranks, 3), { rank: 2, size: 3, kept: 2, left: 1 });
    assert.equal(tieAtCut(ranks, 4), null);
    assert.equal(tieAtCut(ranks, 1), null);
    assert.equal(tieAtCut(ranks, 6), null);
    assert.deepEqual([cutWithTies(ranks, 2), cutWithTies(ranks, 4), cutWithTies(ranks, 5), cutWithTies(ranks, 9)], [4, 4, 6, 6]);
    assert.deepEqual(ranks.map((_, i) => isTied(ranks, i)), [false, true, true, true, true, true]);
  });

  it('agree with a brute-force count on random sorted scores', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 30 }), fc.nat(32), (raw, n) => {
      const scores = [...raw].sort((a, b) => b - a);
      const ranks = competitionRanks(scores);
      scores.forEach((s, i) => assert.equal(ranks[i], 1 + scores.filter((t) => t > s).length));
      const tie = tieAtCut(ranks, n);
      const inside = n > 0 && n < scores.length && scores[n] === scores[n - 1];
      assert.equal(tie !== null, inside);
      if (tie) {
        const same = scores.filter((s) => s === scores[n - 1]).length;
        assert.deepEqual([tie.size, tie.kept + tie.left, tie.left], [same, same, scores.slice(n).filter((s) => s === scores[n - 1]).length]);
      }
    }));
  });
});
