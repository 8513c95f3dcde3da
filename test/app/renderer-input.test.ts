import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toClientMessage, toSaveFileRequest } from '../../app/renderer-input.ts';

describe('toClientMessage', () => {
  it('passes requests and cancels through, rebuilt from their own keys', () => {
    assert.deepEqual(toClientMessage({ id: 7, method: 'generate', params: { prompt: 'hi' } }), { id: 7, method: 'generate', params: { prompt: 'hi' } });
    assert.deepEqual(toClientMessage({ id: 0, method: 'model.current' }), { id: 0, method: 'model.current', params: undefined });
    assert.deepEqual(toClientMessage({ cancel: 7 }), { cancel: 7 });
    assert.deepEqual(toClientMessage(Object.assign(Object.create(null), { cancel: 1 })), { cancel: 1 });
  });

  it('drops anything else', () => {
    const bad: unknown[] = [
      null, undefined, 7, 'x', [], [{ id: 1, method: 'm' }], new Date(),
      {}, { id: 1 }, { method: 'm' }, { id: '1', method: 'm' }, { id: 1.5, method: 'm' }, { id: -1, method: 'm' },
      { id: Number.NaN, method: 'm' }, { id: Infinity, method: 'm' }, { id: 2 ** 53, method: 'm' },
      { id: 1, method: '' }, { id: 1, method: 'm'.repeat(101) }, { id: 1, method: 7 }, { id: 1, method: 'm', extra: 1 },
      { cancel: '1' }, { cancel: -1 }, { cancel: 1, id: 1 }, { cancel: 1, method: 'm' }, { cancel: 0.5 },
    ];
    for (const value of bad) assert.equal(toClientMessage(value), null, JSON.stringify(value));
  });
});

describe('toSaveFileRequest', () => {
  it('accepts a bare file name and a string', () => {
    assert.deepEqual(toSaveFileRequest(['mask.json', '{}']), { name: 'mask.json', content: '{}' });
    assert.deepEqual(toSaveFileRequest(['rankings run 3.csv', '']), { name: 'rankings run 3.csv', content: '' });
  });

  it('refuses paths, odd names and non-strings', () => {
    const bad: unknown[][] = [
      [], ['a.json'], ['a.json', '{}', 'x'], ['a.json', 7], [7, '{}'], ['', '{}'], ['.', '{}'], ['..', '{}'],
      ['../a.json', '{}'], ['dir/a.json', '{}'], ['C:\\a.json', '{}'], ['a\0.json', '{}'], ['a'.repeat(256), '{}'],
    ];
    for (const args of bad) assert.equal(toSaveFileRequest(args), null, JSON.stringify(args));
  });
});
