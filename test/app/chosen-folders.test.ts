import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChosenFolders } from '../../app/chosen-folders.ts';

describe('ChosenFolders', () => {
  it('passes requests without a folder, and folders chosen in a dialog (however written)', () => {
    const chosen = new ChosenFolders();
    chosen.add('/models/qwen');
    for (const message of [
      { cancel: 1 },
      { id: 1, method: 'model.current', params: {} },
      { id: 2, method: 'model.open', params: {} },
      { id: 3, method: 'model.open', params: { dir: '/models/qwen' } },
      { id: 4, method: 'model.estimate', params: { dir: '/models/qwen/' } },
      { id: 5, method: 'model.open', params: { dir: '/models/other/../qwen', precision: 'int8' } },
      { id: 6, method: 'probes.expand', params: { file: '/etc/passwd' } }, // the engine confines probe sets itself
      { id: 7, method: 'model.open', params: { dir: 42 } }, // the engine's schema answers
    ] as const) {
      assert.equal(chosen.refusal(message as never), null, JSON.stringify(message));
    }
  });

  it('refuses any other folder, with a message saying how to choose one', () => {
    const chosen = new ChosenFolders();
    chosen.add('/models/qwen');
    assert.deepEqual(chosen.refusal({ id: 1, method: 'model.open', params: { dir: '/models' } }), {
      code: 'bad-request', message: '/models: not a folder chosen in the Open dialog; choose the checkpoint folder with "Open folder…"',
    });
    assert.notEqual(chosen.refusal({ id: 2, method: 'model.estimate', params: { dir: 'models/qwen' } }), null);
    assert.ok(chosen.refusal({ id: 3, method: 'model.open', params: { dir: `/${'x'.repeat(10_000)}` } })!.message.length < 400);
  });

  it('also allows a folder under the name the engine gave it when it opened it', () => {
    const chosen = new ChosenFolders();
    chosen.add('/link/to/qwen');
    chosen.sent({ id: 4, method: 'model.open', params: { dir: '/link/to/qwen' } });
    chosen.sent({ id: 5, method: 'model.current', params: {} });
    chosen.reply({ id: 5, ok: true, result: { folder: '/not/opened/here' } as never });
    chosen.reply({ id: 4, ok: true, result: { folder: '/real/qwen' } as never });
    assert.equal(chosen.refusal({ id: 6, method: 'model.open', params: { dir: '/real/qwen' } }), null);
    assert.notEqual(chosen.refusal({ id: 7, method: 'model.open', params: { dir: '/not/opened/here' } }), null);
    chosen.sent({ id: 8, method: 'model.open', params: { dir: '/link/to/qwen' } });
    chosen.reply({ id: 8, ok: false, error: { code: 'failed', message: 'no' } });
    chosen.reply({ id: 8, ok: true, result: { folder: '/late' } as never });
    assert.notEqual(chosen.refusal({ id: 9, method: 'model.open', params: { dir: '/late' } }), null);
  });
});
