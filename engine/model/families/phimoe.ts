import { attentionNames, commonSpec, everyLayerMoe, everyLayerWindowed, type FamilyDescriptor } from './family.ts';

/**
 * Phi-3.5-MoE: sparsemixer routing in eval mode — slot 1 = the top logit, weighted by the softmax over the
 * experts whose logit is within 2·router_jitter_noise (relative) of it; slot 2 the same among the rest. Steering
 * generalises this slot by slot (engine/model/onnx/routing.ts): forced experts fill the first slots, backfill-off
 * experts never enter the pool, drop-off experts lose their slot after the unmasked selection. LayerNorm with bias
 * everywhere, biases on q/k/v/o and the LM head, longrope.
 */
export const phiMoe: FamilyDescriptor = {
  name: 'Phi-3.5-MoE',
  modelTypes: ['phimoe'],
  routerRule: 'sparsemixer: slot by slot, the best remaining logit, weighted by a softmax over the experts within 2·router_jitter_noise of it',
  spec(c) {
    const base = commonSpec(c);
    return {
      ...base,
      family: 'phimoe',
      ...everyLayerWindowed(c, base.numLayers),
      norm: 'layer',
      lmHeadBias: c.bool('lm_head_bias', false),
      attentionBias: c.bool('attention_bias', true),
      qkNorm: 'none',
      numExperts: c.int('num_local_experts'),
      topK: c.int('num_experts_per_tok'),
      normTopkProb: false,
      router: { scoring: 'sparsemixer', groups: null, scaling: 1, jitterEps: c.num('router_jitter_noise', 0.01) },
      ...everyLayerMoe(c, base.numLayers),
    };
  },
  globalWeights(spec) {
    return {
      embed: 'model.embed_tokens.weight',
      finalNorm: 'model.norm.weight',
      finalNormBias: 'model.norm.bias',
      lmHead: spec.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight',
      ...(spec.lmHeadBias ? { lmHeadBias: 'lm_head.bias' } : {}),
    };
  },
  layerWeights(spec, layer) {
    const p = `model.layers.${layer}`;
    const a = `${p}.self_attn`;
    const moe = `${p}.block_sparse_moe`;
    return {
      ...attentionNames(layer),
      inputNormBias: `${p}.input_layernorm.bias`,
      postAttentionNormBias: `${p}.post_attention_layernorm.bias`,
      ...(spec.attentionBias ? { qBias: `${a}.q_proj.bias`, kBias: `${a}.k_proj.bias`, vBias: `${a}.v_proj.bias`, oBias: `${a}.o_proj.bias` } : {}),
      router: `${moe}.gate.weight`,
      experts: {
        layout: 'per-expert',
        gate: (e) => `${moe}.experts.${e}.w1.weight`,
        up: (e) => `${moe}.experts.${e}.w3.weight`,
        down: (e) => `${moe}.experts.${e}.w2.weight`,
      },
    };
  },
};
