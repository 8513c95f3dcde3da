import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { checkLayers, importsOf } from '../../scripts/check-layers.mjs';

const ROOT = path.resolve(import.meta.dirname, '../..');

function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-layers-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), text);
  }
  return root;
}

describe('check-layers', () => {
  it('finds static, re-exported, dynamic, required and type-position imports', () => {
    const found = importsOf('x.ts', [
      "import type { A } from './a.ts';",
      "import b, { c } from 'b';",
      "export { d } from './d.ts';",
      "export type { E } from './e.ts';",
      "const f = await import('f');",
      "const g = require('g');",
      "import h = require('h');",
      "let i: typeof import('i');",
      "const s = 'import x from \"not-an-import\"'; // import y from 'nor-this'",
    ].join('\n'));
    assert.deepEqual(found.map((f) => `${f.line} ${f.specifier} ${f.typeOnly}`), [
      '1 ./a.ts true', '2 b false', '3 ./d.ts false', '4 ./e.ts true', '5 f false', '6 g false', '7 h false', '8 i true',
    ]);
  });

  it('reports one violation of each kind and lets the allowed imports pass', () => {
    const root = tree({
      'engine/runtime/a.ts': "import { app } from 'electron';\nimport type { Store } from '../store/b.ts';",
      'engine/analysis/b.ts': "import { useState } from 'react';",
      'engine/analysis/c.ts': "import { scaleLinear } from 'd3-scale';\nimport * as d3 from 'd3';",
      'engine/store/d.ts': "import { create } from 'zustand';\nimport Database from 'better-sqlite3';",
      'renderer/a.tsx': "import fs from 'node:fs';\nimport React from 'react';",
      'renderer/b.ts': "import path from 'path';",
      'renderer/c.ts': "import { ipcRenderer } from 'electron';",
      'renderer/d.ts': "import Database from 'better-sqlite3';",
      'renderer/e.ts': "import * as ort from 'onnxruntime-node';",
      'renderer/f.ts': "import { openDatabase } from '../engine/store/database.ts';",
      'renderer/g.ts': "import { clientMessageSchema } from '../engine/protocol/messages.ts';",
      'renderer/h.ts': "import type { ClientMessage } from '../engine/protocol/messages.ts';",
      'renderer/i.ts': "import type { Run } from '../engine/store/runs.ts';",
      'app/a.ts': "import { EngineHost } from '../engine/host/engine-host.ts';",
      'app/b.ts': "import { methodParams } from '../engine/protocol/methods.ts';",
      'app/c.ts': "import type { EngineMessage } from '../engine/protocol/messages.ts';\nimport { app } from 'electron';\nimport fs from 'node:fs';",
      'engine/common/a.ts': "import fs from 'node:fs';\nimport type { Run } from '../store/runs.ts';\nimport { TIE_ORDER } from './b.ts';",
      'engine/common/b.ts': "export const TIE_ORDER = '';",
      'renderer/j.ts': "import { formatP } from '../engine/common/statistics-format.ts';",
      'app/d.ts': "import { formatP } from '../engine/common/statistics-format.ts';",
      'app/node_modules/x/index.ts': "import '../../../engine/store/database.ts';",
    });
    try {
      assert.deepEqual(checkLayers(root).sort(), [
        "app/a.ts:1: '../engine/host/engine-host.ts' — app may import only engine/protocol types and engine/common from the engine",
        "app/b.ts:1: '../engine/protocol/methods.ts' — app may import engine/protocol with `import type` only",
        "engine/analysis/b.ts:1: 'react' — engine must not import electron, react, d3 or zustand",
        "engine/analysis/c.ts:1: 'd3-scale' — engine must not import electron, react, d3 or zustand",
        "engine/analysis/c.ts:2: 'd3' — engine must not import electron, react, d3 or zustand",
        "engine/common/a.ts:1: 'node:fs' — engine/common may import only other engine/common modules",
        "engine/common/a.ts:2: '../store/runs.ts' — engine/common may import only other engine/common modules",
        "engine/runtime/a.ts:1: 'electron' — engine must not import electron, react, d3 or zustand",
        "engine/store/d.ts:1: 'zustand' — engine must not import electron, react, d3 or zustand",
        "renderer/a.tsx:1: 'node:fs' — renderer must not import Node built-ins",
        "renderer/b.ts:1: 'path' — renderer must not import Node built-ins",
        "renderer/c.ts:1: 'electron' — renderer must not import electron, better-sqlite3 or onnxruntime-node",
        "renderer/d.ts:1: 'better-sqlite3' — renderer must not import electron, better-sqlite3 or onnxruntime-node",
        "renderer/e.ts:1: 'onnxruntime-node' — renderer must not import electron, better-sqlite3 or onnxruntime-node",
        "renderer/f.ts:1: '../engine/store/database.ts' — renderer may import only engine/protocol and engine/common from the engine",
        "renderer/g.ts:1: '../engine/protocol/messages.ts' — renderer may import engine/protocol with `import type` only",
        "renderer/i.ts:1: '../engine/store/runs.ts' — renderer may import only engine/protocol and engine/common from the engine",
      ]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('passes on this repository', () => {
    assert.deepEqual(checkLayers(ROOT), []);
  });
});
