import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadProbeSet } from '../../engine/probes/load-probe-set.ts';
import { ProbeSetError } from '../../engine/probes/problems.ts';
import { lineOf, writeTemp } from './temp-files.ts';

const valid = {
  type: 'templates',
  id: 'events',
  title: 'Events',
  classes: [{ id: 'sensitive' }, { id: 'neutral' }],
  templates: [{ text: 'What happened{time}{place}?' }],
  slots: {
    time: ['', ' in 1989'],
    place: { sensitive: [' at Tiananmen Square'], neutral: [' at Woodstock'] },
  },
  classifier: { labels: ['refused', 'answered'], rules: [{ label: 'refused', phrases: ["I can't"], regex: ['^sorry'] }], otherwise: 'answered' },
};

/** Writes `text` as `name`, expects loading to fail, and returns the error. */
function failure(name: string, text: string): { file: string; error: ProbeSetError } {
  const file = writeTemp(name, text);
  try {
    loadProbeSet(file);
  } catch (error) {
    assert.ok(error instanceof ProbeSetError, String(error));
    return { file, error };
  }
  assert.fail(`${name} loaded`);
}

/** Asserts one line of the message reads `file:line: path: …problem…`. */
function assertReports(error: ProbeSetError, file: string, line: number | undefined, where: string, problem: RegExp) {
  const prefix = `${file}${line ? `:${line}` : ''}: ${where ? `${where}: ` : ''}`;
  const hit = error.message.split('\n').find((l) => l.startsWith(prefix) && problem.test(l.slice(prefix.length)));
  assert.ok(hit, `no line "${prefix}${problem}" in:\n${error.message}`);
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

describe('loadProbeSet reports malformed sets with file, path, line and problem', () => {
  it('accepts the valid base set', () => {
    assert.equal(loadProbeSet(writeTemp('ok.json', json(valid))).id, 'events');
  });

  it('bad JSON: the line of the syntax error', () => {
    const text = '{\n  "type": "templates",\n  "id": "x"\n  "title": "no comma above"\n}';
    const { file, error } = failure('bad.json', text);
    assertReports(error, file, 4, '', /^not valid JSON: /);
    const truncated = failure('cut.json', '{\n  "type": "templates",\n');
    assertReports(truncated.error, truncated.file, 3, '', /^not valid JSON: /);
  });

  it('missing fields, at the top level and in a template', () => {
    const { title: _title, ...untitled } = valid;
    const text = json({ ...untitled, templates: [...valid.templates, { classes: ['neutral'] }] });
    const { file, error } = failure('missing.json', text);
    assertReports(error, file, 1, '', /^missing "title"$/);
    assertReports(error, file, lineOf(text, '"classes": [\n        "neutral"') - 1, 'templates[1]', /^missing "text"$/);
    assert.equal(error.problems.length, 2);
  });

  it('unknown class in per-class slot values, and a class a template needs but a slot lacks', () => {
    const text = json({ ...valid, slots: { ...valid.slots, place: { sensitive: ['x'], neutrl: ['y'] } } });
    const { file, error } = failure('slots.json', text);
    assertReports(error, file, lineOf(text, '"neutrl"'), 'slots.place.neutrl', /^"neutrl" is not a class of this set \(classes: "sensitive", "neutral"\)$/);
    assertReports(error, file, lineOf(text, '"place"'), 'slots.place', /^no values for class "neutral", which templates\[0\] is expanded for$/);
  });

  it('template placeholder without a slot, and a stray brace', () => {
    const text = json({ ...valid, templates: [{ text: 'What happened{time}{venue}?' }, { text: 'A set {like this' }] });
    const { file, error } = failure('placeholders.json', text);
    assertReports(error, file, lineOf(text, '{venue}'), 'templates[0].text', /^\{venue\} has no slot \(slots: "time", "place"; write \{\{ and \}\} for literal braces\)$/);
    assertReports(error, file, lineOf(text, '{like'), 'templates[1].text', /^the "\{" at column 7 does not open a \{slot\}/);
  });

  it('bad regex, undeclared classifier label, unknown property', () => {
    const text = json({ ...valid, classifier: { ...valid.classifier, rules: [{ label: 'refusd', regex: ['^sorry', '(unclosed'], phrase: ['x'] }] } });
    const { file, error } = failure('classifier.json', text);
    assertReports(error, file, lineOf(text, '"(unclosed"'), 'classifier.rules[0].regex[1]', /^Invalid regular expression: \/\(unclosed\/.*Unterminated group/);
    assertReports(error, file, lineOf(text, '"refusd"'), 'classifier.rules[0].label', /^"refusd" is neither a class \("sensitive", "neutral"\) nor listed in classifier.labels$/);
    assertReports(error, file, lineOf(text, '"phrase"'), 'classifier.rules[0].phrase', /^unknown property \(expected one of: label, phrases, regex\)$/);
  });

  it('YAML with a type error and a wrong enum value', () => {
    const text = [
      'type: templates', 'id: events', 'title: Events', 'chat: "yes"',
      'classes:', '  - id: a', '  - id: b', 'templates:', '  - text: "{x}"', 'slots:', '  x: [1, two]', '',
    ].join('\n');
    const { file, error } = failure('types.yaml', text);
    assertReports(error, file, 4, 'chat', /^expected true or false, got "yes"$/);
    assertReports(error, file, 11, 'slots.x[0]', /^expected a string or an object, got 1$/);
    assert.equal(error.problems.length, 2);
    const wrongType = failure('enum.yml', 'type: template\nid: x\n');
    assertReports(wrongType.error, wrongType.file, 1, 'type', /^expected "templates" or "paired", got "template"$/);
  });

  it('YAML syntax errors with their lines', () => {
    const { file, error } = failure('syntax.yaml', 'type: templates\nclasses: [a, b\ntitle: x\n');
    assert.match(error.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: not valid YAML: `));
    assert.ok(error.problems.every((p) => p.line !== undefined));
  });

  it('paired sets: missing response, unknown response class, duplicate class id', () => {
    const text = json({
      type: 'paired', id: 'p', title: 'P', classes: [{ id: 'safe' }, { id: 'unsafe' }, { id: 'safe' }],
      items: [{ prompt: 'Q', responses: { safe: 'ok', unsafee: 'no' } }],
    });
    const { file, error } = failure('paired.json', text);
    assertReports(error, file, lineOf(text, '"responses"'), 'items[0].responses', /^no response for class "unsafe"$/);
    assertReports(error, file, lineOf(text, '"unsafee"'), 'items[0].responses.unsafee', /^"unsafee" is not a class of this set/);
    assertReports(error, file, lineOf(text, '"id": "safe"\n    }\n  ]'), 'classes[2].id', /^"safe" is already the id of classes\[0\]$/);
  });

  it('lists every problem, in line order', () => {
    const text = json({ ...valid, id: 'bad id', templates: [{ text: '{nope}' }], chat: 1 });
    const { error } = failure('many.json', text);
    assert.deepEqual(error.problems.map((p) => p.path), ['id', 'templates[0].text', 'chat']);
    const lines = error.problems.map((p) => p.line!);
    assert.deepEqual(lines, [...lines].sort((a, b) => a - b));
    assert.equal(error.message.split('\n').length, 3);
  });

  it('unreadable files and unsupported extensions', () => {
    assert.throws(() => loadProbeSet('/nonexistent/set.json'), /^ProbeSetError: \/nonexistent\/set.json: cannot read \(ENOENT\)$/);
    const { file, error } = failure('set.txt', json(valid));
    assertReports(error, file, undefined, '', /^a probe set is a .json, .yaml, .yml file$/);
  });
});
