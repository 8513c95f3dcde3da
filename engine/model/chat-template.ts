import { Environment, Interpreter, Template } from '@huggingface/jinja';

export interface ChatMessage {
  role: string;
  content: string;
}

/** A checkpoint's chat template, ready to render; `file` is where it was read from, for error messages. */
export interface ChatTemplate {
  file: string;
  /** `now` is the time the template's strftime_now() reports (gpt-oss puts the date in its system message);
   * the current time by default. */
  render(variables: Record<string, unknown>, opts?: { now?: Date }): string;
}

/** Where a checkpoint's chat template text can come from; `text` is null when that file is absent. */
export interface TemplateSources {
  jinjaFile: { file: string; text: string | null };
  tokenizerConfig: { file: string; json: Record<string, unknown> };
}

/**
 * The checkpoint's chat template, or null when it has none. As in recent transformers, chat_template.jinja wins
 * over tokenizer_config.json's chat_template, which may be a string or a list of {name, template} (the one named
 * "default" is used).
 */
export function selectChatTemplate({ jinjaFile, tokenizerConfig }: TemplateSources): ChatTemplate | null {
  if (jinjaFile.text !== null) return compileChatTemplate(jinjaFile.text, jinjaFile.file);
  const fromConfig = templateInTokenizerConfig(tokenizerConfig.json.chat_template, tokenizerConfig.file);
  return fromConfig === null ? null : compileChatTemplate(fromConfig, tokenizerConfig.file);
}

/** Parsing is deferred to the first render so that a template this Jinja dialect cannot parse does not stop
 * the checkpoint from being used on raw prompts. */
function compileChatTemplate(text: string, file: string): ChatTemplate {
  let parsed: Template | null = null;
  return {
    file,
    render(variables, opts) {
      try {
        parsed ??= new Template(text);
      } catch (error) {
        throw new Error(`${file}: chat template could not be parsed: ${(error as Error).message}`);
      }
      try {
        return renderTemplate(parsed, variables, opts?.now);
      } catch (error) {
        throw new Error(`${file}: chat template failed to render: ${(error as Error).message}`);
      }
    },
  };
}

/**
 * Template.render with the globals transformers gives chat templates, ours where the library's differ: its
 * Template.render declares its own strftime_now (machine-locale month names, no %a/%S/%p/...) and refuses a
 * variable of the same name. The library's other globals are declared the same way it does.
 */
function renderTemplate(template: Template, variables: Record<string, unknown>, now: Date | undefined): string {
  const env = new Environment();
  const globals: Record<string, unknown> = {
    false: false,
    true: true,
    none: null,
    False: false,
    True: true,
    None: null,
    range: jinjaRange,
    raise_exception: (message: unknown) => {
      throw new Error(String(message));
    },
    strftime_now: strftimeNow(now),
  };
  // Keyword arguments may shadow the globals, as in transformers.
  for (const [name, value] of Object.entries({ ...globals, ...variables })) env.set(name, value);
  const result = new Interpreter(env).run(template.parsed).value;
  if (typeof result !== 'string') throw new Error(`rendering gave ${typeof result}, not text`);
  return result;
}

/** Python's range(stop) and range(start, stop[, step]). */
function jinjaRange(start: unknown, stop?: unknown, step: unknown = 1): number[] {
  const [from, to] = stop === undefined || stop === null ? [0, start] : [start, stop];
  if (![from, to, step].every(Number.isInteger)) throw new Error('range() expects integers');
  const [a, b, by] = [from, to, step] as number[];
  if (by === 0) throw new Error('range() step must not be zero');
  const values: number[] = [];
  for (let i = a; by > 0 ? i < b : i > b; i += by) values.push(i);
  return values;
}

function templateInTokenizerConfig(value: unknown, file: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value.filter(
      (entry): entry is { name: string; template: string } =>
        typeof entry?.name === 'string' && typeof entry?.template === 'string',
    );
    if (named.length !== value.length) {
      throw new Error(`${file}: chat_template list entries must be {name, template} with string values`);
    }
    const chosen = named.find((entry) => entry.name === 'default');
    if (!chosen) {
      const names = named.map((entry) => entry.name).join(', ');
      throw new Error(`${file}: chat_template lists templates (${names}) but none is named "default"`);
    }
    return chosen.template;
  }
  throw new Error(`${file}: chat_template must be a string or a list of {name, template}`);
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
];

/**
 * The strftime_now(format) that transformers gives templates: Python's datetime.now().strftime(format), local
 * time, with the C locale's English names whatever the machine's locale (Python leaves LC_TIME at "C"). Knows
 * the directives chat templates use, and glibc's "-" flag that drops the padding (%-d); any other directive is
 * left as written, as glibc does.
 */
function strftimeNow(now: Date | undefined): (format: unknown) => string {
  return (format) => {
    if (typeof format !== 'string') throw new Error(`strftime_now expects a format string, got ${typeof format}`);
    return strftime(now ?? new Date(), format);
  };
}

function strftime(date: Date, format: string): string {
  const hour12 = date.getHours() % 12 === 0 ? 12 : date.getHours() % 12;
  const startOfYear = new Date(date.getFullYear(), 0, 1);
  const dayOfYear = Math.round((dayStart(date) - dayStart(startOfYear)) / 86_400_000) + 1;
  return format.replace(/%(-?)([a-zA-Z%])/g, (directive, noPad: string, code: string) => {
    const num = (value: number, width: number) => (noPad ? String(value) : String(value).padStart(width, '0'));
    switch (code) {
      case 'Y': return String(date.getFullYear());
      case 'y': return num(date.getFullYear() % 100, 2);
      case 'm': return num(date.getMonth() + 1, 2);
      case 'd': return num(date.getDate(), 2);
      case 'e': return noPad ? String(date.getDate()) : String(date.getDate()).padStart(2, ' ');
      case 'j': return num(dayOfYear, 3);
      case 'H': return num(date.getHours(), 2);
      case 'I': return num(hour12, 2);
      case 'M': return num(date.getMinutes(), 2);
      case 'S': return num(date.getSeconds(), 2);
      case 'p': return date.getHours() < 12 ? 'AM' : 'PM';
      case 'A': return WEEKDAYS[date.getDay()];
      case 'a': return WEEKDAYS[date.getDay()].slice(0, 3);
      case 'B': return MONTHS[date.getMonth()];
      case 'b': case 'h': return MONTHS[date.getMonth()].slice(0, 3);
      case '%': return '%';
      default: return directive;
    }
  });
}

/** Local midnight of the date, in ms; day differences from it ignore daylight-saving shifts once rounded. */
function dayStart(date: Date): number {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}
