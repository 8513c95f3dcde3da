/**
 * SteerMoE export and import (engine/steering/steermoe.ts) against a matrix written by hand from SteerMoE's code:
 * rows are decoder layers of num_hidden_layers, columns experts, +1 activate, −1 deactivate, 0 unchanged.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { exportMask, importMask } from '../../engine/steering/mask-exchange.ts';
import type { ExpertMask } from '../../engine/steering/mask.ts';
import type { MaskTarget } from '../../engine/steering/mask-fit.ts';

/** The golden qwen2_moe case's shape: 3 decoder layers, layer 1 dense, 8 experts, k = 2. */
const target: MaskTarget = {
  identity: { architecture: 'qwen2_moe', layers: 3, experts: 8, topK: 2, checkpoint: 'c0ffee', precision: 'f32' },
  moeLayers: [0, 2],
};
const expected = fs.readFileSync(path.join(import.meta.dirname, 'fixtures/steermoe-qwen2-moe.json'), 'utf8');
const mask: ExpertMask = {
  mode: 'backfill', forceWeight: 'max',
  entries: [{ layer: 2, expert: 5, state: 'forced' }, { layer: 0, expert: 3, state: 'off' }, { layer: 0, expert: 1, state: 'forced' }],
};
const matrix = (rows: unknown) => JSON.stringify({ format: 'steermoe', moe_manual_weights: rows });
const zeros = () => Array.from({ length: 3 }, () => new Array(8).fill(0));

describe('SteerMoE matrix', () => {
  it('exports exactly the hand-written matrix, one row per decoder layer', () => {
    const out = exportMask(mask, 'steermoe', target, 'refusal experts');
    assert.equal(out.fileName, 'refusal-experts.steermoe.json');
    assert.equal(out.json, expected);
  });

  it('imports it back as the same switches (backfill, force weight max), in layer then expert order', () => {
    const back = importMask(expected, 'm.steermoe.json', target);
    assert.deepEqual(back.mask, {
      mode: 'backfill', forceWeight: 'max',
      entries: [{ layer: 0, expert: 1, state: 'forced' }, { layer: 0, expert: 3, state: 'off' }, { layer: 2, expert: 5, state: 'forced' }],
    });
    assert.equal(back.name, null);
    assert.deepEqual(back.warnings, ['m.steermoe.json is a SteerMoE matrix, which names no model: only its shape, layers and k were checked']);
    assert.equal(exportMask(back.mask, 'steermoe', target).json, expected, 'round trip');
  });

  it('refuses masks SteerMoE cannot reproduce, saying what to change', () => {
    assert.throws(() => exportMask({ ...mask, mode: 'drop' }, 'steermoe', target), /cannot be written as a SteerMoE matrix: .*switch the mask to backfill mode/);
    assert.throws(() => exportMask({ ...mask, forceWeight: 'natural' }, 'steermoe', target), /switch the force weight to max/);
    const offOnly: ExpertMask = { mode: 'drop', forceWeight: 'natural', entries: [] };
    assert.match(exportMask(offOnly, 'steermoe', target).json, /"moe_manual_weights": \[\n {4}\[0, 0, 0, 0, 0, 0, 0, 0\],/, 'an empty mask writes zeros');
  });

  it('says what of an imported matrix does not fit the model', () => {
    const refused = (json: string, message: RegExp) => assert.throws(() => importMask(json, 'm.json', target), message);
    refused(matrix(zeros().slice(0, 2)), /^Error: m\.json: moe_manual_weights has 2 rows; the loaded model has 3 layers$/);
    refused(JSON.stringify({ moe_manual_weights: zeros(), num_experts: 16 }), /m\.json: num_experts is 16; the loaded model has 8/);
    refused(matrix('no'), /m\.json: moe_manual_weights must be a list of rows/);
    const bad = zeros() as unknown[][];
    bad[0] = [0, 1];
    bad[2][4] = 'x';
    refused(matrix(bad), /m\.json: moe_manual_weights\[0\]: expected a row of 8 numbers \(one per expert\), got 2 values; moe_manual_weights\[2\]\[4\]: expected a number/);
    const dense = zeros();
    dense[1][0] = -1;
    refused(matrix(dense), /m\.json does not fit the loaded model .*moe_manual_weights\[1\]\[0\]: layer 1 is a dense layer without experts/);
    const tooMany = zeros();
    tooMany[0] = [1, 1, 1, 0, 0, 0, 0, 0];
    refused(matrix(tooMany), /layer 0: 3 experts forced, but the model selects only k=2/);
    refused(matrix(zeros()), /m\.json: moe_manual_weights activates and deactivates no expert/);
  });

  it('reads a cell by its sign, as SteerMoE does', () => {
    const rows = zeros();
    rows[0][6] = 0.5;
    rows[2][7] = -3;
    assert.deepEqual(importMask(matrix(rows), 'm.json', target).mask.entries, [{ layer: 0, expert: 6, state: 'forced' }, { layer: 2, expert: 7, state: 'off' }]);
  });
});
