import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import schema from '../../probes/schema/probe-set.schema.json' with { type: 'json' };
import type { DocPath, RawProblem } from './problems.ts';

let validator: ValidateFunction | undefined;

/** Checks a parsed document against probes/schema/probe-set.schema.json; every violation is returned. */
export function schemaProblems(value: unknown): RawProblem[] {
  validator ??= new Ajv2020({ allErrors: true, verbose: true, allowUnionTypes: true }).compile(schema);
  if (validator(value)) return [];
  // `if` only says its `then` failed, and anyOf branches only say why each alternative failed: both are
  // summarised by another error.
  return (validator.errors ?? []).flatMap((e) => (e.keyword === 'if' || e.schemaPath.includes('/anyOf/') ? [] : [toProblem(e, value)]));
}

function toProblem(e: ErrorObject, root: unknown): RawProblem {
  const path = docPath(e.instancePath, root);
  if (e.keyword === 'additionalProperties') {
    const allowed = Object.keys((e.parentSchema as { properties?: object }).properties ?? {}).filter((k) => k !== '$schema');
    const property = (e.params as { additionalProperty: string }).additionalProperty;
    return { path: [...path, property], message: `unknown property (expected one of: ${allowed.join(', ')})` };
  }
  return { path, message: describeError(e) };
}

function describeError(e: ErrorObject): string {
  const got = describeValue(e.data);
  switch (e.keyword) {
    case 'required':
      return `missing "${(e.params as { missingProperty: string }).missingProperty}"`;
    case 'type': {
      const types = ([] as string[]).concat(e.schema as string | string[]);
      return `expected ${types.map((t) => TYPE_NAMES[t] ?? t).join(' or ')}, got ${got}`;
    }
    case 'enum':
      return `expected ${(e.schema as unknown[]).map((v) => JSON.stringify(v)).join(' or ')}, got ${got}`;
    case 'const':
      return `expected ${JSON.stringify(e.schema)}, got ${got}`;
    case 'minItems':
    case 'minLength':
    case 'minProperties':
      return e.schema === 1 ? 'must not be empty' : `needs at least ${e.schema}`;
    case 'uniqueItems': {
      const { i, j } = e.params as { i: number; j: number };
      return `${describeValue((e.data as unknown[])[i])} is listed twice (items ${j} and ${i})`;
    }
    case 'pattern':
      return `${got} is not valid: ${(e.parentSchema as { description?: string }).description ?? `must match ${e.schema}`}`;
    case 'anyOf': {
      const needs = (e.schema as { required?: string[] }[]).map((b) => b.required?.map((p) => `"${p}"`).join(' and '));
      return needs.every(Boolean) ? `needs ${needs.join(' or ')}` : (e.message ?? 'invalid');
    }
    default:
      return e.message ?? `fails ${e.keyword}`;
  }
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string', object: 'an object', array: 'a list', boolean: 'true or false', number: 'a number', integer: 'an integer',
};

function describeValue(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v !== null && typeof v === 'object') return 'an object';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** JSON pointer → path; a segment is an index when the value it steps into is a list. */
function docPath(pointer: string, root: unknown): DocPath {
  const out: DocPath = [];
  let node = root;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const step = Array.isArray(node) ? Number(seg) : seg;
    out.push(step);
    node = (node as Record<string | number, unknown> | undefined)?.[step];
  }
  return out;
}
