import type { ExpertMask, MaskEntry, Precision, RankMethod, Span, StopReason } from '../../engine/protocol/types.ts';
import type { GenSettings } from './generation.ts';

/**
 * What a researcher was looking at, kept per checkpoint in localStorage so that a reload (or the engine coming back)
 * restores it instead of falling back to defaults: the imaging selection, the mask and where it came from, the
 * prompt and sampling settings, the last comparison and the evaluation settings. Versioned; checked field by field
 * when read, so a stale or hand-edited entry is reported and ignored, never half-applied.
 */
export const SESSION_VERSION = 1;
const SESSION_PREFIX = 'mote-studio.session.v1.';
const LAST_MODEL_KEY = 'mote-studio.last-model.v1';

/** The ranking a mask was built from ("Switch off top N"): enough to name it wherever the mask is shown. */
export interface MaskSource {
  runId: number;
  /** The run's probe set id, as the run list shows it. */
  runLabel: string;
  target: string;
  method: RankMethod;
  span: Span;
  n: number;
  /** Entries were changed by hand after the ranking set them. */
  edited: boolean;
}

export interface SavedPane {
  ids: number[];
  tokens: string[];
  status: 'done' | 'cancelled' | 'error';
  reason: StopReason | null;
  error: string | null;
}

export interface SavedCounts {
  layers: number[];
  experts: number;
  tokens: number;
  counts: number[];
}

export interface SavedSession {
  version: typeof SESSION_VERSION;
  savedAt: string;
  imaging: {
    runId: number | null;
    /** The run's probe set id when saved, to name a run that has since gone. */
    runLabel: string | null;
    span: Span;
    method: RankMethod;
    target: string | null;
    show: 'rate' | 'mean' | 'score';
    rateClass: string | null;
  };
  steering: { mask: ExpertMask; maskName: string; maskSource: MaskSource | null; topN: number; topNAuto: boolean; gen: GenSettings; liveAuto: boolean };
  compare: { baseline: SavedPane | null; steered: SavedPane | null; mask: ExpertMask | null; maskSource: MaskSource | null; settings: GenSettings | null; routing: { baseline: SavedCounts | null; steered: SavedCounts | null } };
  evaluation: { file: string | null; randomControls: number; dose: number; maxTokens: number; targetClass: string };
}

/** The model last opened, reopened when the engine comes up with none (a restarted `mote serve`). */
export interface LastModel {
  /** null: the demo model. */
  folder: string | null;
  precision: Precision;
  context: number;
}

/** What sessions are kept in: localStorage in the app (typed here without the DOM, so tests can pass a Map-backed one). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

class Bad extends Error {}

type Obj = Record<string, unknown>;
const fail = (where: string, what: string): never => {
  throw new Bad(`${where}: ${what}`);
};
const obj = (v: unknown, where: string): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : fail(where, 'not an object'));
const str = (v: unknown, where: string): string => (typeof v === 'string' ? v : fail(where, 'not a string'));
const bool = (v: unknown, where: string): boolean => (typeof v === 'boolean' ? v : fail(where, 'not true or false'));
const int = (v: unknown, where: string, min: number, max: number): number =>
  (Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? (v as number) : fail(where, `not a whole number in ${min}…${max}`));
const num = (v: unknown, where: string, min: number, max: number): number =>
  (typeof v === 'number' && v >= min && v <= max ? v : fail(where, `not a number in ${min}…${max}`));
const oneOf = <T extends string>(v: unknown, where: string, allowed: readonly T[]): T =>
  (allowed.includes(v as T) ? (v as T) : fail(where, `not one of ${allowed.join(', ')}`));
const nullable = <T>(v: unknown, read: (v: unknown) => T): T | null => (v === null ? null : read(v));
const list = <T>(v: unknown, where: string, read: (v: unknown, where: string) => T, max: number): T[] => {
  if (!Array.isArray(v)) return fail(where, 'not a list');
  if (v.length > max) fail(where, `more than ${max} items`);
  return v.map((x, i) => read(x, `${where}[${i}]`));
};

const SPANS = ['prompt', 'response', 'last'] as const;
const METHODS = ['mote', 'rd'] as const;
const MAX_ENTRIES = 100_000;
const MAX_TOKENS = 1 << 16;

function readMask(v: unknown, where: string): ExpertMask {
  const o = obj(v, where);
  return {
    mode: oneOf(o.mode, `${where}.mode`, ['backfill', 'drop'] as const),
    forceWeight: oneOf(o.forceWeight, `${where}.forceWeight`, ['natural', 'max'] as const),
    entries: list(o.entries, `${where}.entries`, (e, at): MaskEntry => {
      const x = obj(e, at);
      return { layer: int(x.layer, `${at}.layer`, 0, 1e6), expert: int(x.expert, `${at}.expert`, 0, 1e6), state: oneOf(x.state, `${at}.state`, ['off', 'forced'] as const) };
    }, MAX_ENTRIES),
  };
}

/** The bounds are the settings' fields' own (views/GenSettingsForm.tsx): a saved value is one the user could type. */
function readGen(v: unknown, where: string): GenSettings {
  const o = obj(v, where);
  return {
    prompt: str(o.prompt, `${where}.prompt`),
    chat: bool(o.chat, `${where}.chat`),
    maxTokens: int(o.maxTokens, `${where}.maxTokens`, 1, 8192),
    seed: int(o.seed, `${where}.seed`, 0, 2 ** 31 - 1),
    temperature: num(o.temperature, `${where}.temperature`, 0, 100),
  };
}

function readSource(v: unknown, where: string): MaskSource {
  const o = obj(v, where);
  return {
    runId: int(o.runId, `${where}.runId`, 1, Number.MAX_SAFE_INTEGER),
    runLabel: str(o.runLabel, `${where}.runLabel`),
    target: str(o.target, `${where}.target`),
    method: oneOf(o.method, `${where}.method`, METHODS),
    span: oneOf(o.span, `${where}.span`, SPANS),
    n: int(o.n, `${where}.n`, 1, MAX_ENTRIES),
    edited: bool(o.edited, `${where}.edited`),
  };
}

function readPane(v: unknown, where: string): SavedPane {
  const o = obj(v, where);
  const ids = list(o.ids, `${where}.ids`, (x, at) => int(x, at, 0, 2 ** 32), MAX_TOKENS);
  const tokens = list(o.tokens, `${where}.tokens`, str, MAX_TOKENS);
  if (tokens.length !== ids.length) fail(where, `${ids.length} token ids but ${tokens.length} token texts`);
  return {
    ids, tokens,
    status: oneOf(o.status, `${where}.status`, ['done', 'cancelled', 'error'] as const),
    reason: nullable(o.reason, (x) => oneOf(x, `${where}.reason`, ['eos', 'stop-string', 'max-tokens', 'context', 'cancelled'] as const)),
    error: nullable(o.error, (x) => str(x, `${where}.error`)),
  };
}

function readCounts(v: unknown, where: string): SavedCounts {
  const o = obj(v, where);
  const layers = list(o.layers, `${where}.layers`, (x, at) => int(x, at, 0, 1e6), 1e4);
  const experts = int(o.experts, `${where}.experts`, 1, 1e5);
  const counts = list(o.counts, `${where}.counts`, (x, at) => num(x, at, 0, Number.MAX_SAFE_INTEGER), 1e7);
  if (counts.length !== layers.length * experts) fail(`${where}.counts`, `${counts.length} values for ${layers.length} layers × ${experts} experts`);
  return { layers, experts, tokens: int(o.tokens, `${where}.tokens`, 0, Number.MAX_SAFE_INTEGER), counts };
}

/** A stored session as it must be, or what is wrong with it ("steering.gen.maxTokens: not a whole number in 1…8192"). */
export function parseSession(raw: unknown): { session: SavedSession } | { problem: string } {
  try {
    const o = obj(raw, 'session');
    if (o.version !== SESSION_VERSION) fail('version', `${JSON.stringify(o.version)}, this app reads ${SESSION_VERSION}`);
    const im = obj(o.imaging, 'imaging');
    const st = obj(o.steering, 'steering');
    const cmp = obj(o.compare, 'compare');
    const routing = obj(cmp.routing, 'compare.routing');
    const ev = obj(o.evaluation, 'evaluation');
    const session: SavedSession = {
      version: SESSION_VERSION,
      savedAt: str(o.savedAt, 'savedAt'),
      imaging: {
        runId: nullable(im.runId, (x) => int(x, 'imaging.runId', 1, Number.MAX_SAFE_INTEGER)),
        runLabel: nullable(im.runLabel, (x) => str(x, 'imaging.runLabel')),
        span: oneOf(im.span, 'imaging.span', SPANS),
        method: oneOf(im.method, 'imaging.method', METHODS),
        target: nullable(im.target, (x) => str(x, 'imaging.target')),
        show: oneOf(im.show, 'imaging.show', ['rate', 'mean', 'score'] as const),
        rateClass: nullable(im.rateClass, (x) => str(x, 'imaging.rateClass')),
      },
      steering: {
        mask: readMask(st.mask, 'steering.mask'),
        maskName: str(st.maskName, 'steering.maskName'),
        maskSource: nullable(st.maskSource, (x) => readSource(x, 'steering.maskSource')),
        topN: int(st.topN, 'steering.topN', 1, MAX_ENTRIES),
        topNAuto: bool(st.topNAuto, 'steering.topNAuto'),
        gen: readGen(st.gen, 'steering.gen'),
        liveAuto: bool(st.liveAuto, 'steering.liveAuto'),
      },
      compare: {
        baseline: nullable(cmp.baseline, (x) => readPane(x, 'compare.baseline')),
        steered: nullable(cmp.steered, (x) => readPane(x, 'compare.steered')),
        mask: nullable(cmp.mask, (x) => readMask(x, 'compare.mask')),
        maskSource: nullable(cmp.maskSource, (x) => readSource(x, 'compare.maskSource')),
        settings: nullable(cmp.settings, (x) => readGen(x, 'compare.settings')),
        routing: {
          baseline: nullable(routing.baseline, (x) => readCounts(x, 'compare.routing.baseline')),
          steered: nullable(routing.steered, (x) => readCounts(x, 'compare.routing.steered')),
        },
      },
      evaluation: {
        file: nullable(ev.file, (x) => str(x, 'evaluation.file')),
        randomControls: int(ev.randomControls, 'evaluation.randomControls', 0, 100),
        dose: int(ev.dose, 'evaluation.dose', 0, 256),
        maxTokens: int(ev.maxTokens, 'evaluation.maxTokens', 1, 1024),
        targetClass: str(ev.targetClass, 'evaluation.targetClass'),
      },
    };
    return { session };
  } catch (err) {
    if (err instanceof Bad) return { problem: err.message };
    throw err;
  }
}

/**
 * The session saved for `checkpoint`: null when there is none, else the session or why it cannot be used. Storage
 * errors (disabled storage, a quota) count as no session: the app works without one.
 */
export function readSession(storage: KeyValueStore, checkpoint: string): { session: SavedSession } | { problem: string } | null {
  let text: string | null;
  try {
    text = storage.getItem(SESSION_PREFIX + checkpoint);
  } catch {
    return null;
  }
  if (text === null) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { problem: 'not JSON' };
  }
  return parseSession(raw);
}

/** Stores the session; false when the browser refused (storage full or disabled). */
export function writeSession(storage: KeyValueStore, checkpoint: string, session: SavedSession): boolean {
  try {
    storage.setItem(SESSION_PREFIX + checkpoint, JSON.stringify(session));
    return true;
  } catch {
    return false;
  }
}

export function readLastModel(storage: KeyValueStore): LastModel | null {
  try {
    const o = obj(JSON.parse(storage.getItem(LAST_MODEL_KEY) ?? 'null'), 'last model');
    return {
      folder: nullable(o.folder, (x) => str(x, 'folder')),
      precision: oneOf(o.precision, 'precision', ['f32', 'bf16-as-f32', 'int8', 'int4'] as const),
      context: int(o.context, 'context', 1, 2 ** 31),
    };
  } catch {
    return null;
  }
}

export function writeLastModel(storage: KeyValueStore, last: LastModel): void {
  try {
    storage.setItem(LAST_MODEL_KEY, JSON.stringify(last));
  } catch {
    // Not kept: the next start opens the demo model, as without storage.
  }
}
