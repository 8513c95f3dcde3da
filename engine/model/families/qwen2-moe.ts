import { attentionNames, commonSpec, denseMlpNames, mlpExpertNames, qwenMoeLayers, standardGlobals, type FamilyDescriptor } from './family.ts';

/** Qwen1.5-MoE / Qwen2-MoE: softmax → top-k → renormalise iff norm_topk_prob, plus a shared expert weighted by
 * sigmoid(shared_expert_gate·x); q/k/v projections carry a bias. */
export const qwen2Moe: FamilyDescriptor = {
  name: 'Qwen2-MoE',
  modelTypes: ['qwen2_moe'],
  routerRule: 'softmax → top-k → renormalise iff norm_topk_prob; + sigmoid(shared_expert_gate·x) · shared_expert(x)',
  spec(c) {
    const base = commonSpec(c);
    const numExperts = c.int('num_experts');
    return {
      ...base,
      family: 'qwen2_moe',
      attentionBias: c.bool('qkv_bias', true),
      qkNorm: 'none',
      numExperts,
      topK: c.int('num_experts_per_tok'),
      normTopkProb: c.bool('norm_topk_prob', false),
      moeIntermediateSize: c.int('moe_intermediate_size'),
      denseIntermediateSize: c.int('intermediate_size'),
      sharedExpertIntermediateSize: c.int('shared_expert_intermediate_size'),
      sharedExpertGate: true,
      moeLayers: qwenMoeLayers(c, base.numLayers, numExperts),
    };
  },
  globalWeights: standardGlobals,
  layerWeights(spec, layer) {
    const p = `model.layers.${layer}`;
    const attention = {
      ...attentionNames(layer),
      qBias: `${p}.self_attn.q_proj.bias`,
      kBias: `${p}.self_attn.k_proj.bias`,
      vBias: `${p}.self_attn.v_proj.bias`,
    };
    if (!spec.moeLayers[layer]) return { ...attention, ...denseMlpNames(layer) };
    return {
      ...attention,
      ...mlpExpertNames(layer),
      sharedGate: `${p}.mlp.shared_expert.gate_proj.weight`,
      sharedUp: `${p}.mlp.shared_expert.up_proj.weight`,
      sharedDown: `${p}.mlp.shared_expert.down_proj.weight`,
      sharedExpertGate: `${p}.mlp.shared_expert_gate.weight`,
    };
  },
};
