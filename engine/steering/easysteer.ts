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

/** Fails, saying what to change, when the mask means something EasySteer's hard modes cannot reproduce. */
export function toEasySteer(mask: ExpertMask): EasySteerConfig {
  const off = mask.entries.filter((e) => e.state === 'off');
  const forced = mask.entries.filter((e) => e.state === 'forced');
  const problems: string[] = [];
  if (off.length && mask.mode === 'drop') {
    problems.push('EasySteer\'s "deactivate" gives an off expert\'s slot to the next-best expert: switch the mask to backfill mode');
  }
  if (forced.length && mask.forceWeight === 'natural') {
    problems.push('EasySteer\'s "activate" weights a forced expert like the top-scoring one: switch the force weight to max');
  }
  if (problems.length) throw new Error(`this mask cannot be written as an EasySteer config: ${problems.join('; ')}`);
  const layers = [...new Set(mask.entries.map((e) => e.layer))].sort((a, b) => a - b);
  const config: EasySteerConfig = { layer_configs: {} };
  for (const layer of layers) {
    const ids = (state: MaskEntry['state']) => mask.entries.filter((e) => e.layer === layer && e.state === state).map((e) => e.expert);
    const [activate, deactivate] = [ids('forced'), ids('off')];
    config.layer_configs[String(layer)] = activate.length && deactivate.length
      ? { mode: 'activate', activate_ids: activate, deactivate_ids: deactivate }
      : { mode: activate.length ? 'activate' : 'deactivate', expert_ids: activate.length ? activate : deactivate };
  }
  return config;
}

/** Reads a parsed EasySteer config into mask entries; every problem is reported at once, prefixed by `source`. */
export function fromEasySteer(value: Record<string, unknown>, source: string): { mask: ExpertMask; entries: LocatedEntry[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const entries: LocatedEntry[] = [];
  const layerConfigs = value.layer_configs;
  if (!isObject(layerConfigs)) throw new Error(`${source}: layer_configs must be an object keyed by decoder-layer index`);
  if (Object.keys(layerConfigs).length === 0) throw new Error(`${source}: layer_configs is empty`);
  for (const [key, config] of Object.entries(layerConfigs)) {
    const at = `layer_configs[${JSON.stringify(key)}]`;
    if (!/^\d+$/.test(key)) {
      problems.push(`${at}: the key must be a decoder-layer index`);
      continue;
    }
    if (!isObject(config)) {
      problems.push(`${at}: expected an object {expert_ids, mode}`);
      continue;
    }
    const layer = Number(key);
    const mode = config.mode ?? 'activate';
    if (typeof mode !== 'string' || !(mode in HARD_MODES)) {
      problems.push(SOFT_MODES.includes(mode as string)
        ? `${at}.mode: "${mode}" shifts router logits by λ·std instead of switching experts on or off; a MoTE mask cannot express it`
        : `${at}.mode: expected "activate" or "deactivate", got ${JSON.stringify(mode)}`);
      continue;
    }
    if (mode !== 'activate' && mode !== 'deactivate') warnings.push(`${at}: legacy mode "${mode}" read as "${HARD_MODES[mode] === 'forced' ? 'activate' : 'deactivate'}"`);
    if (config.epsilon !== undefined && config.epsilon !== MAX_FORCE_EPSILON) {
      warnings.push(`${at}.epsilon: ${JSON.stringify(config.epsilon)} is not kept; MoTE Studio forces experts at the top logit + ${MAX_FORCE_EPSILON}`);
    }
    const lists = { expert_ids: HARD_MODES[mode], activate_ids: 'forced', deactivate_ids: 'off' } as const;
    const layerEntries: LocatedEntry[] = [];
    for (const [list, state] of Object.entries(lists)) {
      const ids = config[list];
      if (ids === undefined) continue;
      if (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id) && id >= 0)) {
        problems.push(`${at}.${list}: expected a list of expert indices (non-negative integers)`);
        continue;
      }
      ids.forEach((expert: number, i) => layerEntries.push({ layer, expert, state, where: `${at}.${list}[${i}]` }));
    }
    if (!layerEntries.length && !problems.some((p) => p.startsWith(at))) problems.push(`${at}: no expert ids (expert_ids, activate_ids or deactivate_ids)`);
    for (const e of layerEntries) {
      const both = layerEntries.some((o) => o.expert === e.expert && o.state !== e.state);
      if (both && e.state === 'forced') {
        warnings.push(`${e.where}: expert ${e.expert} is also deactivated in layer ${layer}; EasySteer deactivates last, so it is off`);
        continue;
      }
      if (!entries.some((o) => o.layer === layer && o.expert === e.expert && o.state === e.state)) entries.push(e);
    }
  }
  if (problems.length) throw new Error(`${source}: ${problems.join('; ')}`);
  return { mask: { mode: 'backfill', forceWeight: 'max', entries: entries.map(({ where: _where, ...e }) => e) }, entries, warnings };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
