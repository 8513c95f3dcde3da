import { attentionNames, commonSpec, denseMlpNames, mlpExpertNames, qwenMoeLayers, standardGlobals, type FamilyDescriptor } from './family.ts';

/** Qwen3-MoE: softmax → top-k → renormalise iff norm_topk_prob; RMSNorm on each query and key head before RoPE. */
export const qwen3Moe: FamilyDescriptor = {
  name: 'Qwen3-MoE',
  modelTypes: ['qwen3_moe'],
  routerRule: 'softmax → top-k → renormalise iff norm_topk_prob',
  spec(c) {
    const base = commonSpec(c);
    const numExperts = c.int('num_experts');
    return {
      ...base,
      family: 'qwen3_moe',
      attentionBias: c.bool('attention_bias', false),
      qkNorm: 'head',
      numExperts,
      topK: c.int('num_experts_per_tok'),
      normTopkProb: c.bool('norm_topk_prob', false),
      moeIntermediateSize: c.int('moe_intermediate_size'),
      denseIntermediateSize: c.int('intermediate_size'),
      sharedExpertIntermediateSize: 0,
      sharedExpertGate: false,
      moeLayers: qwenMoeLayers(c, base.numLayers, numExperts),
    };
  },
  globalWeights: standardGlobals,
  layerWeights(spec, layer) {
    const p = `model.layers.${layer}.self_attn`;
    const attention = {
      ...attentionNames(layer),
      qNorm: `${p}.q_norm.weight`,
      kNorm: `${p}.k_norm.weight`,
      ...(spec.attentionBias ? { qBias: `${p}.q_proj.bias`, kBias: `${p}.k_proj.bias`, vBias: `${p}.v_proj.bias` } : {}),
    };
    return spec.moeLayers[layer] ? { ...attention, ...mlpExpertNames(layer) } : { ...attention, ...denseMlpNames(layer) };
  },
};
