import { attentionNames, commonSpec, everyLayerMoe, mlpExpertNames, standardGlobals, type FamilyDescriptor } from './family.ts';

/** OLMoE: softmax → top-k → renormalise iff norm_topk_prob; RMSNorm over the whole q and k projections
 * (k_norm sized for the grouped KV heads) before splitting into heads; optional clip_qkv. */
export const olmoe: FamilyDescriptor = {
  name: 'OLMoE',
  modelTypes: ['olmoe'],
  routerRule: 'softmax → top-k → renormalise iff norm_topk_prob',
  spec(c) {
    const base = commonSpec(c);
    return {
      ...base,
      family: 'olmoe',
      attentionBias: c.bool('attention_bias', false),
      qkNorm: 'projection',
      numExperts: c.int('num_experts'),
      topK: c.int('num_experts_per_tok'),
      normTopkProb: c.bool('norm_topk_prob', false),
      ...everyLayerMoe(c, base.numLayers),
    };
  },
  globalWeights: standardGlobals,
  layerWeights(spec, layer) {
    const p = `model.layers.${layer}.self_attn`;
    return {
      ...attentionNames(layer),
      qNorm: `${p}.q_norm.weight`,
      kNorm: `${p}.k_norm.weight`,
      ...(spec.attentionBias ? { qBias: `${p}.q_proj.bias`, kBias: `${p}.k_proj.bias`, vBias: `${p}.v_proj.bias` } : {}),
      ...mlpExpertNames(layer),
    };
  },
};
