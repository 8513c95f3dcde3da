import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { MoteEngineApi } from '../../app/preload.ts';
import type { MoteEnginePreload } from '../../renderer/host/preload-api.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

// The preload must offer what the renderer is typed against, and nothing the renderer does not know.
export const preloadFitsRenderer = (api: MoteEngineApi): MoteEnginePreload => api;
export const rendererFitsPreload = (api: Required<MoteEnginePreload>): MoteEngineApi => api;

describe('app type-check', () => {
  it('compiles app/ and its tests against Electron and Node types (tsconfig.app.json)', () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '--noEmit', '-p', path.join(ROOT, 'tsconfig.app.json')], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });
});
