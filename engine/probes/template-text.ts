export type TemplatePart = { literal: string } | { slot: string };

/**
 * Splits a template into literal text and `{slot}` placeholders; `{{` and `}}` stand for literal braces.
 * Throws on a brace that is neither (the message gives the 1-based column).
 */
export function parseTemplate(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let literal = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if ((c === '{' || c === '}') && text[i + 1] === c) {
      literal += c;
      i++;
    } else if (c === '{') {
      const end = text.indexOf('}', i + 1);
      const name = end < 0 ? '' : text.slice(i + 1, end);
      if (!name || name.includes('{')) throw new Error(`the "{" at column ${i + 1} does not open a {slot}; write "{{" for a literal brace`);
      if (literal) parts.push({ literal });
      literal = '';
      parts.push({ slot: name });
      i = end;
    } else if (c === '}') {
      throw new Error(`the "}" at column ${i + 1} closes no {slot}; write "}}" for a literal brace`);
    } else {
      literal += c;
    }
  }
  if (literal) parts.push({ literal });
  return parts;
}

/** Slot names in order of first appearance. */
export function templateSlots(parts: TemplatePart[]): string[] {
  return [...new Set(parts.flatMap((p) => ('slot' in p ? [p.slot] : [])))];
}
