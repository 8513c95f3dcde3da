import { deepseekGroups, deepseekLayerWeights, deepseekSpec } from './deepseek-mla.ts';
import { standardGlobals, type FamilyDescriptor } from './family.ts';

/**
 * DeepSeek-V3 / R1 (and the routing of GLM-4.5-style models): s = σ(z); experts are chosen on s +
 * e_score_correction_bias within the topk_group best of n_group groups (group score = sum of its two best biased
 * scores); weights = the unbiased s of the chosen, renormalised iff norm_topk_prob, × routed_scaling_factor.
 * Steering (engine/model/onnx/routing.ts): forced experts take the first slots and are not candidates, so they
 * neither count toward nor need their group; backfill-off experts leave the candidates before group scores;
 * drop-off experts are chosen as usual and lose their slot; weights renormalise over the experts that run.
 */
export const deepseekV3: FamilyDescriptor = {
  name: 'DeepSeek-V3',
  modelTypes: ['deepseek_v3'],
  routerRule: 'sigmoid → top-k of (score + correction bias) within the topk_group best groups (group score = sum of its top 2) → unbiased scores, renormalised iff norm_topk_prob, × routed_scaling_factor; + shared experts',
  spec(c) {
    const scoring = c.raw['scoring_func'] ?? 'sigmoid';
    if (scoring !== 'sigmoid') throw new Error(`${c.file}: scoring_func ${JSON.stringify(scoring)} is not supported for deepseek_v3 (sigmoid)`);
    const router = { scoring: 'sigmoid' as const, groups: deepseekGroups(c, 'top2-sum'), scaling: c.num('routed_scaling_factor', 1), jitterEps: 0 };
    return deepseekSpec(c, 'deepseek_v3', router, c.bool('norm_topk_prob', true), true);
  },
  globalWeights: standardGlobals,
  layerWeights(spec, layer) {
    const names = deepseekLayerWeights(spec, layer);
    return spec.moeLayers[layer] ? { ...names, scoreCorrectionBias: `model.layers.${layer}.mlp.gate.e_score_correction_bias` } : names;
  },
};
