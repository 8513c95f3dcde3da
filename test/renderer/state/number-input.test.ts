import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { numberProblem, type NumberBounds } from '../../../renderer/state/number-input.ts';

const K: NumberBounds = { label: 'Random controls K', min: 0, max: 100, integer: true };
const T: NumberBounds = { label: 'Temperature', min: 0, max: 100, integer: false };

describe('numberProblem: a numeric field refuses, never clamps', () => {
  it('accepts values within the bounds, edges included', () => {
    for (const text of ['0', '100', '20', ' 7 ', '1e1']) assert.equal(numberProblem(text, K), null, text);
    for (const text of ['0', '0.5', '0.50', '100']) assert.equal(numberProblem(text, T), null, text);
  });

  it('names the field and the problem', () => {
    assert.equal(numberProblem('200', K), 'Random controls K: 200 is above the maximum, 100');
    assert.equal(numberProblem('-1', K), 'Random controls K: -1 is below the minimum, 0');
    assert.equal(numberProblem('2.5', K), 'Random controls K: must be a whole number, not 2.5');
    assert.equal(numberProblem('', K), 'Random controls K: enter a number (0–100)');
    assert.equal(numberProblem('abc', K), 'Random controls K: "abc" is not a number');
    assert.equal(numberProblem('Infinity', T), 'Temperature: "Infinity" is not a number');
    assert.equal(numberProblem('100.01', T), 'Temperature: 100.01 is above the maximum, 100');
  });
});
