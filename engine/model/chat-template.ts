import { Template } from '@huggingface/jinja';

export interface ChatMessage {
  role: string;
  content: string;
}

/** A checkpoint's chat template, ready to render; `file` is where it was read from, for error messages. */
export interface ChatTemplate {
  file: string;
  render(variables: Record<string, unknown>): string;
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
    render(variables) {
      try {
        parsed ??= new Template(text);
      } catch (error) {
        throw new Error(`${file}: chat template could not be parsed: ${(error as Error).message}`);
      }
      try {
        return parsed.render(variables);
      } catch (error) {
        throw new Error(`${file}: chat template failed to render: ${(error as Error).message}`);
      }
    },
  };
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
