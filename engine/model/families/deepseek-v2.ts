import { deepseekGroups, deepseekLayerWeights, deepseekSpec } from './deepseek-mla.ts';
import { standardGlobals, type FamilyDescriptor } from './family.ts';

/**
 * DeepSeek-V2 / V2-Lite: p = softmax(z) over every expert; topk_method greedy = the top-k p, group_limited_greedy =
 * the top-k p within the topk_group best of n_group groups (group score = the group's largest p); weights = p ×
 * routed_scaling_factor, never renormalised (HF ignores norm_topk_prob for V2). Steering as DeepSeek-V3's: forced
 * first and not candidates; backfill-off experts leave the candidates before group scores but stay in the softmax
 * denominator; drop-off experts lose their slot.
 */
export const deepseekV2: FamilyDescriptor = {
  name: 'DeepSeek-V2',
  modelTypes: ['deepseek_v2'],
  routerRule: 'softmax → top-k (group_limited_greedy: within the topk_group best groups by their largest score) → × routed_scaling_factor, no renormalisation; + shared experts',
  spec(c) {
    const scoring = c.raw['scoring_func'] ?? 'softmax';
    if (scoring !== 'softmax') throw new Error(`${c.file}: scoring_func ${JSON.stringify(scoring)} is not supported for deepseek_v2 (softmax)`);
    const method = c.raw['topk_method'] ?? 'greedy';
    if (method !== 'greedy' && method !== 'group_limited_greedy') {
      throw new Error(`${c.file}: topk_method ${JSON.stringify(method)} is not supported for deepseek_v2 (greedy, group_limited_greedy)`);
    }
    const groups = method === 'greedy' ? null : deepseekGroups(c, 'max');
    return deepseekSpec(c, 'deepseek_v2', { scoring: 'softmax', groups, scaling: c.num('routed_scaling_factor', 1), jitterEps: 0 }, false, false);
  },
  globalWeights: standardGlobals,
  layerWeights: deepseekLayerWeights,
};
