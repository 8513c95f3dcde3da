import { attentionNames, commonSpec, everyLayerMoe, standardGlobals, type FamilyDescriptor } from './family.ts';

/**
 * Granite-MoE: top-k router logits → softmax over the k (= softmax → top-k → renormalise); embeddings ×
 * embedding_multiplier, attention scale attention_multiplier, attention and MoE outputs × residual_multiplier,
 * logits ÷ logits_scaling; experts fused as input_linear [E, 2I, H] (gate rows first) and output_linear.
 */
export const graniteMoe: FamilyDescriptor = {
  name: 'Granite-MoE',
  modelTypes: ['granitemoe'],
  routerRule: 'top-k router logits → softmax over the k',
  spec(c) {
    const base = commonSpec(c);
    return {
      ...base,
      family: 'granitemoe',
      attentionScale: c.num('attention_multiplier'),
      multipliers: { embedding: c.num('embedding_multiplier', 1), residual: c.num('residual_multiplier', 1), logits: c.num('logits_scaling', 1) },
      attentionBias: c.bool('attention_bias', false),
      qkNorm: 'none',
      numExperts: c.int('num_local_experts'),
      topK: c.int('num_experts_per_tok'),
      normTopkProb: true,
      ...everyLayerMoe(c, base.numLayers),
    };
  },
  globalWeights: standardGlobals,
  layerWeights(spec, layer) {
    const p = `model.layers.${layer}`;
    const a = `${p}.self_attn`;
    const moe = `${p}.block_sparse_moe`;
    return {
      ...attentionNames(layer),
      ...(spec.attentionBias ? { qBias: `${a}.q_proj.bias`, kBias: `${a}.k_proj.bias`, vBias: `${a}.v_proj.bias`, oBias: `${a}.o_proj.bias` } : {}),
      router: `${moe}.router.layer.weight`,
      experts: { layout: 'granite', inputLinear: `${moe}.input_linear.weight`, outputLinear: `${moe}.output_linear.weight` },
    };
  },
};
