/**
 * Python's `json.dumps(value, indent=2, sort_keys=True) + "\n"`, the way transformers writes config.json and
 * model.safetensors.index.json. JavaScript has no int/float distinction, so numbers under `floatKeys` (and any
 * non-integer) are written as Python floats ("10000.0", "1e-06"); all other numbers as ints.
 */
export function pythonJsonDumps(value: unknown, floatKeys: ReadonlySet<string> = new Set()): string {
  return `${serialise(value, '', false, floatKeys)}\n`;
}

function serialise(value: unknown, indent: string, isFloat: boolean, floatKeys: ReadonlySet<string>): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return isFloat || !Number.isInteger(value) ? pythonFloatRepr(value) : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const items = value.map((item) => inner + serialise(item, inner, isFloat, floatKeys));
    return `[\n${items.join(',\n')}\n${indent}]`;
  }
  const keys = Object.keys(value as object).sort();
  if (keys.length === 0) return '{}';
  const items = keys.map((key) => {
    const item = serialise((value as Record<string, unknown>)[key], inner, floatKeys.has(key), floatKeys);
    return `${inner}${JSON.stringify(key)}: ${item}`;
  });
  return `{\n${items.join(',\n')}\n${indent}}`;
}

/** Python's float repr: shortest round-trip digits, scientific below 1e-4 and from 1e16 on. */
function pythonFloatRepr(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const [mantissa, exponentText] = Math.abs(value).toExponential().split('e');
  const exponent = Number(exponentText);
  const digits = mantissa.replace('.', '');
  const sign = value < 0 ? '-' : '';
  if (exponent < -4 || exponent >= 16) {
    const power = `${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
    return `${sign}${mantissa}e${power}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  return `${sign}${whole}.${digits.slice(exponent + 1) || '0'}`;
}
