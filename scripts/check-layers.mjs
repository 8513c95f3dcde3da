#!/usr/bin/env node
// Fails when a layer imports what it must not (STYLE.md §1: renderer → engine/protocol (types only) ← engine ← app).
// engine/common holds pure code every layer runs (formatters, ranking rules): it imports only itself, so renderer
// and app may import its values.
// Usage: node scripts/check-layers.mjs [root]   (default: the repository)
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const SOURCE = /\.(?:[cm]?[jt]s|[jt]sx)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git']);
const NODE_BUILTINS = new Set(builtinModules.filter((name) => !name.startsWith('_')));

/** Every import of a file: static, re-export, dynamic import(), require(), import x = require(), import('x') types. */
export function importsOf(file, text) {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found = [];
  const add = (node, specifier, typeOnly) => {
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    found.push({ specifier, typeOnly, line });
  };
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly = ts.isImportDeclaration(node) ? node.importClause?.isTypeOnly === true : node.isTypeOnly;
      add(node, node.moduleSpecifier.text, typeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expr = node.moduleReference.expression;
      if (ts.isStringLiteral(expr)) add(node, expr.text, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.arguments.length > 0 && ts.isStringLiteralLike(node.arguments[0])) {
      const isImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if (isImport || isRequire) add(node, node.arguments[0].text, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node, node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function packageOf(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const isNodeBuiltin = (specifier) => specifier.startsWith('node:') || NODE_BUILTINS.has(packageOf(specifier));
const isPackage = (names) => (specifier) => names.some((name) => packageOf(specifier) === name);
const isUiPackage = (specifier) => isPackage(['electron', 'react', 'react-dom', 'd3', 'zustand'])(specifier)
  || packageOf(specifier).startsWith('d3-');

/** The repository folder a relative or root-anchored specifier points into ('engine/protocol', 'engine/store', …). */
function targetArea(root, file, specifier) {
  let target;
  if (specifier.startsWith('.')) target = path.resolve(path.dirname(file), specifier);
  else if (/^(?:engine|renderer|app)\//.test(specifier)) target = path.resolve(root, specifier);
  else return null;
  const relative = path.relative(root, target).split(path.sep);
  if (relative[0] === '..') return null;
  return relative[0] === 'engine' ? `engine/${relative[1] ?? ''}` : relative[0];
}

/** Each rule: which files it covers, and why an import breaks it (or null when it is fine). */
const RULES = [
  {
    layer: 'engine/common',
    check: (imp, area) => (area === 'engine/common' ? null : 'engine/common may import only other engine/common modules'),
  },
  {
    layer: 'engine',
    check: (imp) => (isUiPackage(imp.specifier) ? 'engine must not import electron, react, d3 or zustand' : null),
  },
  {
    layer: 'renderer',
    check: (imp, area) => {
      if (isNodeBuiltin(imp.specifier)) return 'renderer must not import Node built-ins';
      if (isPackage(['electron', 'better-sqlite3', 'onnxruntime-node'])(imp.specifier)) {
        return 'renderer must not import electron, better-sqlite3 or onnxruntime-node';
      }
      if (area === 'engine/protocol' && !imp.typeOnly) return 'renderer may import engine/protocol with `import type` only';
      if (area?.startsWith('engine/') && area !== 'engine/protocol' && area !== 'engine/common') return 'renderer may import only engine/protocol and engine/common from the engine';
      return null;
    },
  },
  {
    layer: 'app',
    check: (imp, area) => {
      if (area === 'engine/protocol' && !imp.typeOnly) return 'app may import engine/protocol with `import type` only';
      if (area?.startsWith('engine/') && area !== 'engine/protocol' && area !== 'engine/common') return 'app may import only engine/protocol types and engine/common from the engine';
      return null;
    },
  },
];

function* sourceFiles(dir) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) yield* sourceFiles(path.join(dir, entry.name));
    } else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      yield path.join(dir, entry.name);
    }
  }
}

/** Every import that breaks a rule, as 'file:line: specifier — reason' with the file relative to root. */
export function checkLayers(root) {
  const problems = [];
  for (const rule of RULES) {
    for (const file of sourceFiles(path.join(root, rule.layer))) {
      for (const imp of importsOf(file, fs.readFileSync(file, 'utf8'))) {
        const reason = rule.check(imp, targetArea(root, file, imp.specifier));
        if (reason) problems.push(`${path.relative(root, file).split(path.sep).join('/')}:${imp.line}: '${imp.specifier}' — ${reason}`);
      }
    }
  }
  return problems;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  const problems = checkLayers(root);
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) {
    console.error(`check-layers: ${problems.length} forbidden import${problems.length === 1 ? '' : 's'}`);
    process.exit(1);
  }
  console.log('check-layers: ok');
}
