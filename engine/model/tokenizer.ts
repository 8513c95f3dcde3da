import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ConfigReader } from './config-reader.ts';
import { selectChatTemplate, type ChatMessage, type ChatTemplate } from './chat-template.ts';

/**
 * A checkpoint's tokenizer: tokenizer.json through @huggingface/tokenizers, chat template through
 * @huggingface/jinja.
 *
 * Special tokens: `encode` adds what tokenizer.json's post-processor adds (e.g. Llama's BOS) unless
 * `addSpecialTokens: false`; where transformers rebuilds that post-processor from tokenizer_config.json's
 * add_bos_token/add_eos_token (Llama's tokenizer class, which DeepSeek-V3 and Phi-3.5 name), those flags decide.
 * A chat-templated prompt already holds BOS when the model wants one, so encode the output of
 * `applyChatTemplate` with `{ addSpecialTokens: false }`, or the model sees BOS twice.
 */
export interface TextTokenizer {
  /** Token ids of `text`. addSpecialTokens defaults to true, as in transformers. */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  /** Text of `ids`. Ids outside the vocabulary are skipped, as the Rust tokenizers library does. */
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean }): string;
  /** Renders the checkpoint's chat template. Throws, naming the checkpoint, when it has none. */
  applyChatTemplate(messages: ChatMessage[], opts?: ChatTemplateOptions): string;
  hasChatTemplate: boolean;
  /** tokenizer_config.json's bos_token when that key is present (null included), else config.json's or
   * generation_config.json's bos_token_id; null when none names one. */
  bosTokenId: number | null;
  /** Union of tokenizer_config.json's eos_token, config.json's and generation_config.json's eos_token_id. */
  eosTokenIds: number[];
  /** The id text outside the vocabulary encodes to (tokenizer.json's model.unk_token or unk_id); null when the
   * tokenizer has none (byte-level BPE covers every text). */
  unkTokenId: number | null;
  /** The token's vocabulary entry as stored in tokenizer.json (e.g. "Ġworld", "▁world", "<|im_end|>"). */
  tokenText(id: number): string;
  /** Detokenises generated ids one at a time; see StreamDecoder. */
  createStreamDecoder(opts?: { skipSpecialTokens?: boolean }): StreamDecoder;
}

export interface ChatTemplateOptions {
  /** End with the opening of an assistant turn, for the model to continue. Defaults to false. */
  addGenerationPrompt?: boolean;
  /** Extra template variables, as keyword arguments to transformers' apply_chat_template (gpt-oss's
   * reasoning_effort, Qwen3's enable_thinking, ...); they override the special-token variables and the
   * tools/documents defaults, not messages or add_generation_prompt. */
  templateVariables?: Record<string, unknown>;
  /** The time the template's strftime_now() reports (gpt-oss's system message holds the date); the current
   * time by default. */
  now?: Date;
}

/** Text of the ids pushed so far equals decode() of them all: concatenate every push() and the final flush(). */
export interface StreamDecoder {
  /** New text to print; empty while the text could still change (a UTF-8 character split across tokens). */
  push(id: number): string;
  /** Whatever push() held back; call once generation ends. */
  flush(): string;
}

/**
 * The text of each token as it reads in context: pieces whose concatenation is decode(ids), so spaces and
 * multi-byte characters come out as the tokenizer decodes them (decoding one id at a time loses SentencePiece's
 * leading spaces: "HowdoI"). A token ending inside a character yields '' and the next piece holds the character.
 */
export function tokenPieces(tokenizer: TextTokenizer, ids: ArrayLike<number>): string[] {
  const decoder = tokenizer.createStreamDecoder();
  const pieces = Array.from(ids, (id) => decoder.push(id));
  if (pieces.length > 0) pieces[pieces.length - 1] += decoder.flush();
  return pieces;
}

export async function loadTokenizer(dir: string, config: Record<string, unknown>): Promise<TextTokenizer> {
  const files = {
    tokenizer: join(dir, 'tokenizer.json'),
    tokenizerConfig: join(dir, 'tokenizer_config.json'),
    generationConfig: join(dir, 'generation_config.json'),
    config: join(dir, 'config.json'),
    chatTemplate: join(dir, 'chat_template.jinja'),
  };
  const tokenizerJson = await readJsonObject(files.tokenizer);
  if (tokenizerJson === null) throw new Error(`${files.tokenizer}: file not found; a checkpoint needs tokenizer.json`);
  const tokenizerConfig = (await readJsonObject(files.tokenizerConfig)) ?? {};
  const generationConfig = (await readJsonObject(files.generationConfig)) ?? {};

  const cleansSpaces = tokenizerConfig.clean_up_tokenization_spaces === true;
  const postProcessor = specialTokenPostProcessor(tokenizerJson, tokenizerConfig, files);
  const json = postProcessor === undefined ? tokenizerJson : { ...tokenizerJson, post_processor: postProcessor };
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(json, {
      ...tokenizerConfig,
      // Only an explicit true turns on the lossy clean-up (" ." → "."): the library defaults to true, transformers
      // is moving to false (huggingface/transformers#31884).
      clean_up_tokenization_spaces: cleansSpaces,
      additional_special_tokens: tokenList(tokenizerConfig.additional_special_tokens, files.tokenizerConfig),
    });
  } catch (error) {
    throw new Error(`${files.tokenizer}: cannot build a tokenizer from it: ${(error as Error).message}`);
  }

  const { bosTokenId, eosTokenIds } = specialTokenIds(tokenizer, tokenizerConfig, [
    new ConfigReader(files.config, config),
    new ConfigReader(files.generationConfig, generationConfig),
  ], files);

  const tokenText = (id: number): string => {
    const text = tokenizer.id_to_token(id);
    if (text === undefined) throw new Error(`Token id ${id} is not in the vocabulary of ${files.tokenizer}`);
    return text;
  };
  const decode = (ids: number[], skipSpecialTokens: boolean): string => {
    const known = ids.filter((id) => tokenizer.id_to_token(id) !== undefined);
    // The library throws on an empty list.
    if (known.length === 0) return '';
    return tokenizer.decode(known, { skip_special_tokens: skipSpecialTokens });
  };

  const chatTemplate = selectChatTemplate({
    jinjaFile: { file: files.chatTemplate, text: await readOptionalText(files.chatTemplate) },
    tokenizerConfig: { file: files.tokenizerConfig, json: tokenizerConfig },
  });
  const templateTokens = specialTokenVariables(tokenizerConfig, files.tokenizerConfig);
  if (bosTokenId !== null) templateTokens.bos_token ??= tokenText(bosTokenId);
  if (eosTokenIds.length > 0) templateTokens.eos_token ??= tokenText(eosTokenIds[0]);

  return {
    encode: (text, opts) => tokenizer.encode(text, { add_special_tokens: opts?.addSpecialTokens ?? true }).ids,
    decode: (ids, opts) => decode(ids, opts?.skipSpecialTokens ?? false),
    applyChatTemplate(messages, opts) {
      return requireTemplate(chatTemplate, dir).render(
        {
          // transformers passes tools and documents as None when the caller gives none.
          tools: null,
          documents: null,
          ...templateTokens,
          ...opts?.templateVariables,
          messages,
          add_generation_prompt: opts?.addGenerationPrompt ?? false,
        },
        { now: opts?.now },
      );
    },
    hasChatTemplate: chatTemplate !== null,
    unkTokenId: unknownTokenId(tokenizerJson, tokenizer),
    bosTokenId,
    eosTokenIds,
    tokenText,
    createStreamDecoder: (opts) =>
      createStreamDecoder((ids) => decode(ids, opts?.skipSpecialTokens ?? false), cleansSpaces),
  };
}

/**
 * Tokenizer classes whose transformers fast tokenizer replaces tokenizer.json's post-processor on load with one
 * built from tokenizer_config.json's add_bos_token and add_eos_token (LlamaTokenizerFast.update_post_processor and
 * its copies), with the defaults each class gives those flags and its default tokens. DeepSeek-V3 names
 * LlamaTokenizerFast with add_bos_token true over a tokenizer.json that adds nothing; Phi-3.5 names LlamaTokenizer
 * with add_bos_token false.
 */
const TEMPLATED_POST_PROCESSOR_CLASSES: Record<string, { addBos: boolean; addEos: boolean; bos: string; eos: string }> = {
  LlamaTokenizer: { addBos: true, addEos: false, bos: '<s>', eos: '</s>' },
  CodeLlamaTokenizer: { addBos: true, addEos: false, bos: '<s>', eos: '</s>' },
  GemmaTokenizer: { addBos: true, addEos: false, bos: '<bos>', eos: '<eos>' },
  GPTNeoXTokenizer: { addBos: false, addEos: false, bos: '<|endoftext|>', eos: '<|endoftext|>' },
};

/** The post-processor transformers would use in place of tokenizer.json's, or undefined to keep that one. */
function specialTokenPostProcessor(
  tokenizerJson: Record<string, unknown>,
  tokenizerConfig: Record<string, unknown>,
  files: { tokenizer: string; tokenizerConfig: string },
): Record<string, unknown> | undefined {
  const tokenizerClass = typeof tokenizerConfig.tokenizer_class === 'string'
    ? tokenizerConfig.tokenizer_class.replace(/Fast$/, '')
    : null;
  const defaults = tokenizerClass === null ? undefined : TEMPLATED_POST_PROCESSOR_CLASSES[tokenizerClass];
  if (defaults === undefined) return undefined;
  // Without a model the library's own error says what is wrong with tokenizer.json.
  if (typeof tokenizerJson.model !== 'object' || tokenizerJson.model === null) return undefined;
  const flag = (key: 'add_bos_token' | 'add_eos_token', fallback: boolean): boolean => {
    const value = tokenizerConfig[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') throw new Error(`${files.tokenizerConfig}: ${key} must be true or false`);
    return value;
  };
  const added = (key: 'bos_token' | 'eos_token', flagKey: string): { content: string; id: number }[] => {
    // An absent key takes the class's default token; null means none, which transformers refuses too.
    const content = key in tokenizerConfig
      ? tokenContent(tokenizerConfig[key], files.tokenizerConfig, key)
      : defaults[key === 'bos_token' ? 'bos' : 'eos'];
    if (content === null) throw new Error(`${files.tokenizerConfig}: ${flagKey} is true but there is no ${key}`);
    const id = vocabularyId(tokenizerJson, content);
    if (id === null) throw new Error(`${files.tokenizerConfig}: ${key} "${content}" is not a token in ${files.tokenizer}`);
    return [{ content, id }];
  };
  const bos = flag('add_bos_token', defaults.addBos) ? added('bos_token', 'add_bos_token') : [];
  const eos = flag('add_eos_token', defaults.addEos) ? added('eos_token', 'add_eos_token') : [];
  const special = (typeId: number) => (token: { content: string }) =>
    ({ SpecialToken: { id: token.content, type_id: typeId } });
  const sequence = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  const single = [...bos.map(special(0)), sequence('A', 0), ...eos.map(special(0))];
  const pair = [...single, ...bos.map(special(1)), sequence('B', 1), ...eos.map(special(1))];
  const specialTokens = Object.fromEntries(
    [...bos, ...eos].map((token) => [token.content, { id: token.content, ids: [token.id], tokens: [token.content] }]),
  );
  return { type: 'TemplateProcessing', single, pair, special_tokens: specialTokens };
}

/** The model's unknown token: unk_token by name (BPE, WordLevel, WordPiece) or unk_id by index (Unigram); null
 * when it names none or one outside the vocabulary. */
function unknownTokenId(tokenizerJson: Record<string, unknown>, tokenizer: Tokenizer): number | null {
  const model = tokenizerJson.model as { unk_token?: unknown; unk_id?: unknown } | undefined;
  const id = typeof model?.unk_id === 'number' ? model.unk_id
    : typeof model?.unk_token === 'string' ? vocabularyId(tokenizerJson, model.unk_token) : null;
  return id !== null && tokenizer.id_to_token(id) !== undefined ? id : null;
}

/** Id of `content` among tokenizer.json's added tokens or in its model's vocabulary, or null. */
function vocabularyId(tokenizerJson: Record<string, unknown>, content: string): number | null {
  const addedTokens = Array.isArray(tokenizerJson.added_tokens) ? tokenizerJson.added_tokens : [];
  for (const token of addedTokens) {
    if (token?.content === content && typeof token.id === 'number') return token.id;
  }
  const vocab = (tokenizerJson.model as { vocab?: unknown } | undefined)?.vocab;
  if (Array.isArray(vocab)) {
    // Unigram: a list of [piece, score].
    const index = vocab.findIndex((entry) => Array.isArray(entry) && entry[0] === content);
    return index === -1 ? null : index;
  }
  if (typeof vocab === 'object' && vocab !== null) {
    const id = (vocab as Record<string, unknown>)[content];
    return typeof id === 'number' ? id : null;
  }
  return null;
}

/** BOS and EOS as the checkpoint's files name them; see TextTokenizer for the precedence. */
function specialTokenIds(
  tokenizer: Tokenizer,
  tokenizerConfig: Record<string, unknown>,
  configs: ConfigReader[],
  files: { tokenizer: string; tokenizerConfig: string },
): { bosTokenId: number | null; eosTokenIds: number[] } {
  const idOfToken = (key: 'bos_token' | 'eos_token'): number | null => {
    const content = tokenContent(tokenizerConfig[key], files.tokenizerConfig, key);
    if (content === null) return null;
    const id = tokenizer.token_to_id(content);
    if (id === undefined) {
      throw new Error(`${files.tokenizerConfig}: ${key} "${content}" is not a token in ${files.tokenizer}`);
    }
    return id;
  };
  const configuredIds = (key: 'bos_token_id' | 'eos_token_id') => configs.flatMap((reader) => reader.tokenIds(key));

  const eosFromTokenizer = idOfToken('eos_token');
  const eosIds = [...(eosFromTokenizer === null ? [] : [eosFromTokenizer]), ...configuredIds('eos_token_id')];
  const bosTokenId =
    'bos_token' in tokenizerConfig ? idOfToken('bos_token') : (configuredIds('bos_token_id')[0] ?? null);
  return { bosTokenId, eosTokenIds: [...new Set(eosIds)] };
}

function requireTemplate(template: ChatTemplate | null, dir: string): ChatTemplate {
  if (template === null) {
    throw new Error(
      `${dir}: checkpoint has no chat template (no chat_template.jinja, no chat_template in tokenizer_config.json)`,
    );
  }
  return template;
}

/** Text that transformers' clean_up_tokenization may still rewrite once more text follows (" ." → ".",
 * " n't" → "n't", " 's" → "'s", ...). */
const CLEANUP_MAY_CHANGE = / (?:'[rv]?|n'?)?$/;

/**
 * Decodes a window that starts one printed token back, so decoders that act at the start of the text (the
 * SentencePiece leading-space strip) treat both decodes alike; what the window adds past the printed part is new.
 */
function createStreamDecoder(decode: (ids: number[]) => string, cleansSpaces: boolean): StreamDecoder {
  const ids: number[] = [];
  let windowStart = 0;
  let printedEnd = 0;
  const unprinted = () => {
    const printed = decode(ids.slice(windowStart, printedEnd));
    return decode(ids.slice(windowStart)).slice(printed.length);
  };
  const markPrinted = () => {
    windowStart = printedEnd;
    printedEnd = ids.length;
  };
  return {
    push(id) {
      ids.push(id);
      const text = unprinted();
      // U+FFFD at the end: the last token ends inside a multi-byte character.
      if (text === '' || text.endsWith('\uFFFD') || (cleansSpaces && CLEANUP_MAY_CHANGE.test(text))) return '';
      markPrinted();
      return text;
    },
    flush() {
      const text = unprinted();
      markPrinted();
      return text;
    },
  };
}

/** Template variables for every special token tokenizer_config.json names (bos_token, pad_token, ...). */
function specialTokenVariables(tokenizerConfig: Record<string, unknown>, file: string): Record<string, unknown> {
  const variables: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(tokenizerConfig)) {
    const content = key.endsWith('_token') ? contentOf(value) : null;
    if (content !== null) variables[key] = content;
  }
  variables.additional_special_tokens = tokenList(tokenizerConfig.additional_special_tokens, file);
  return variables;
}

/** A special token as tokenizer_config.json writes it: a string or an AddedToken object {content, ...}. */
function contentOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return null;
}

/** A special token that may also be absent or null; anything else is an error. */
function tokenContent(value: unknown, file: string, key: string): string | null {
  if (value === undefined || value === null) return null;
  const content = contentOf(value);
  if (content === null) throw new Error(`${file}: ${key} must be a string or an object with a string "content"`);
  return content;
}

function tokenList(value: unknown, file: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`${file}: additional_special_tokens must be a list`);
  return value.map((entry) => {
    const content = contentOf(entry);
    if (content === null) {
      throw new Error(`${file}: additional_special_tokens holds ${JSON.stringify(entry)}, not a token`);
    }
    return content;
  });
}

/** Parsed JSON object, or null when the file does not exist. */
async function readJsonObject(file: string): Promise<Record<string, unknown> | null> {
  const text = await readOptionalText(file);
  if (text === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: malformed JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${file}: expected a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

async function readOptionalText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${file}: cannot be read: ${(error as Error).message}`);
  }
}
