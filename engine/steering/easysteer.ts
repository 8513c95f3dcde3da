import { clip, ProblemList } from '../probes/inputs.ts';
import { MAX_MASK_ENTRIES } from '../protocol/methods.ts';
import { MAX_FORCE_EPSILON, type ExpertMask, type MaskEntry } from './mask.ts';
import type { LocatedEntry } from './mask-fit.ts';

/**
 * EasySteer's `moe_router` steering config (ZJU-REAL/EasySteer, vLLM v1 versions: the JSON file that
 * `MoERouterAlgorithm.load_from_path` reads, its per-layer payload documented in the algorithm's docstring):
 *
 *   { "layer_configs": { "<decoder layer>": { "expert_ids": [1, 5], "mode": "deactivate" }, ... } }
 *
 * Keys are decoder-layer indices (EasySteer takes them from module names such as `model.layers.15.mlp`). Modes:
 * - "activate": log-softmax the router logits, set the experts to the token's top score + epsilon (default 0.01):
 *   always selected, weighted like the top expert. That is a MoTE `forced` entry with forceWeight `max`
 *   (MAX_FORCE_EPSILON is the same 0.01 on logits, which log-softmax only shifts per token).
 * - "deactivate": set them to the token's lowest score − epsilon, so the next-best experts take their slots: MoTE
 *   `off` in `backfill` mode.
 * - both directions in one layer: `activate_ids` / `deactivate_ids` beside `expert_ids`; an expert in both ends up
 *   deactivated (EasySteer applies deactivation last).
 * - "soft", "soft_topk", "soft_random": add λ·std(logits) to some experts' logits; no mask can express that.
 * Older releases named the hard modes "boost" / "suppress" (setting the exact top / lowest logit, so ties were
 * possible); later ones keep "boost", "soft_hard" and "steermoe" as aliases of "activate", "suppress" of
 * "deactivate". We read those aliases and write only the canonical names, which the older releases do not know.
 */
export interface EasySteerConfig {
  layer_configs: Record<string, EasySteerLayer>;
}

export interface EasySteerLayer {
  mode?: string;
  expert_ids?: number[];
  activate_ids?: number[];
  deactivate_ids?: number[];
  epsilon?: number;
}

const HARD_MODES: Record<string, MaskEntry['state']> = {
  activate: 'forced', boost: 'forced', soft_hard: 'forced', steermoe: 'forced',
  deactivate: 'off', suppress: 'off',
};
const SOFT_MODES = ['soft', 'soft_topk', 'soft_random'];

/**
 * What stops `engine` (EasySteer or SteerMoE: both set an activated expert's log-softmaxed router score to the
 * token's top + 0.01 and a deactivated one's to its lowest − 0.01) from reproducing the mask, as what to change.
 */
export function logitSwitchProblems(mask: ExpertMask, engine: string): string[] {
  const problems: string[] = [];
  if (mask.mode === 'drop' && mask.entries.some((e) => e.state === 'off')) {
    problems.push(`${engine}'s deactivation gives an off expert's slot to the next-best expert: switch the mask to backfill mode`);
  }
  if (mask.forceWeight === 'natural' && mask.entries.some((e) => e.state === 'forced')) {
    problems.push(`${engine}'s activation weights a forced expert like the top-scoring one: switch the force weight to max`);
  }
  return problems;
}

/** Fails, saying what to change, when the mask means something EasySteer's hard modes cannot reproduce. */
export function toEasySteer(mask: ExpertMask): EasySteerConfig {
  const problems = logitSwitchProblems(mask, 'EasySteer');
  if (problems.length) throw new Error(`this mask cannot be written as an EasySteer config: ${problems.join('; ')}`);
  const byLayer = new Map<number, { forced: number[]; off: number[] }>();
  for (const e of mask.entries) {
    const lists = byLayer.get(e.layer) ?? { forced: [], off: [] };
    byLayer.set(e.layer, lists);
    lists[e.state].push(e.expert);
  }
  const config: EasySteerConfig = { layer_configs: {} };
  for (const layer of [...byLayer.keys()].sort((a, b) => a - b)) {
    const { forced: activate, off: deactivate } = byLayer.get(layer)!;
    config.layer_configs[String(layer)] = activate.length && deactivate.length
      ? { mode: 'activate', activate_ids: activate, deactivate_ids: deactivate }
      : { mode: activate.length ? 'activate' : 'deactivate', expert_ids: activate.length ? activate : deactivate };
  }
  return config;
}

/**
 * Reads a parsed EasySteer config into mask entries; problems are reported at once (the first
 * MAX_LISTED_PROBLEMS, then how many more), prefixed by `source`. More than MAX_MASK_ENTRIES expert ids in all is
 * refused on the count. Linear in the number of ids, whatever their layout.
 */
export function fromEasySteer(value: Record<string, unknown>, source: string): { mask: ExpertMask; entries: LocatedEntry[]; warnings: string[] } {
  const problems = new ProblemList();
  const warnings = new ProblemList();
  const entries: LocatedEntry[] = [];
  /** layer:expert:state of every entry taken, so a repeated id (or a layer written "1" and "01") counts once. */
  const kept = new Set<string>();
  const layerConfigs = value.layer_configs;
  if (!isObject(layerConfigs)) throw new Error(`${source}: layer_configs must be an object keyed by decoder-layer index`);
  const keys = Object.keys(layerConfigs);
  if (keys.length === 0) throw new Error(`${source}: layer_configs is empty`);
  const idCount = keys.reduce((n, key) => {
    const config = layerConfigs[key];
    if (!isObject(config)) return n;
    return n + ['expert_ids', 'activate_ids', 'deactivate_ids'].reduce((m, list) => m + (Array.isArray(config[list]) ? (config[list] as unknown[]).length : 0), 0);
  }, 0);
  if (keys.length > MAX_MASK_ENTRIES || idCount > MAX_MASK_ENTRIES) {
    throw new Error(`${source}: ${Math.max(keys.length, idCount).toLocaleString('en')} ${idCount >= keys.length ? 'expert ids' : 'layers'}, more than the ${MAX_MASK_ENTRIES.toLocaleString('en')} entries a mask may hold`);
  }
  for (const [key, config] of Object.entries(layerConfigs)) {
    const at = `layer_configs[${clip(JSON.stringify(key), 40)}]`;
    if (!/^\d+$/.test(key) || !Number.isSafeInteger(Number(key))) {
      problems.add(`${at}: the key must be a decoder-layer index`);
      continue;
    }
    if (!isObject(config)) {
      problems.add(`${at}: expected an object {expert_ids, mode}`);
      continue;
    }
    const layer = Number(key);
    const mode = config.mode ?? 'activate';
    if (typeof mode !== 'string' || !Object.hasOwn(HARD_MODES, mode)) {
      problems.add(SOFT_MODES.includes(mode as string)
        ? `${at}.mode: "${mode}" shifts router logits by λ·std instead of switching experts on or off; a MoTE mask cannot express it`
        : `${at}.mode: expected "activate" or "deactivate", got ${clip(JSON.stringify(mode) ?? String(mode), 40)}`);
      continue;
    }
    if (mode !== 'activate' && mode !== 'deactivate') warnings.add(`${at}: legacy mode "${mode}" read as "${HARD_MODES[mode] === 'forced' ? 'activate' : 'deactivate'}"`);
    if (config.epsilon !== undefined && config.epsilon !== MAX_FORCE_EPSILON) {
      warnings.add(`${at}.epsilon: ${clip(JSON.stringify(config.epsilon) ?? String(config.epsilon), 40)} is not kept; MoTE Studio forces experts at the top logit + ${MAX_FORCE_EPSILON}`);
    }
    const lists = { expert_ids: HARD_MODES[mode], activate_ids: 'forced', deactivate_ids: 'off' } as const;
    const layerEntries: LocatedEntry[] = [];
    let layerProblems = 0;
    for (const [list, state] of Object.entries(lists)) {
      const ids = config[list];
      if (ids === undefined) continue;
      if (!Array.isArray(ids) || !ids.every((id) => Number.isSafeInteger(id) && id >= 0)) {
        problems.add(`${at}.${list}: expected a list of expert indices (non-negative integers)`);
        layerProblems++;
        continue;
      }
      ids.forEach((expert: number, i) => layerEntries.push({ layer, expert, state, where: `${at}.${list}[${i}]` }));
    }
    if (!layerEntries.length && !layerProblems) problems.add(`${at}: no expert ids (expert_ids, activate_ids or deactivate_ids)`);
    const deactivated = new Set(layerEntries.filter((e) => e.state === 'off').map((e) => e.expert));
    for (const e of layerEntries) {
      if (e.state === 'forced' && deactivated.has(e.expert)) {
        warnings.add(`${e.where}: expert ${e.expert} is also deactivated in layer ${layer}; EasySteer deactivates last, so it is off`);
        continue;
      }
      const key = `${layer}:${e.expert}:${e.state}`;
      if (!kept.has(key)) entries.push(e);
      kept.add(key);
    }
  }
  if (problems.count) throw new Error(`${source}: ${problems.join()}`);
  return {
    mask: { mode: 'backfill', forceWeight: 'max', entries: entries.map(({ where: _where, ...e }) => e) },
    entries,
    warnings: warnings.list('warning'),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
