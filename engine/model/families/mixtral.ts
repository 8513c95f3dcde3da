import { attentionNames, commonSpec, everyLayerMoe, everyLayerWindowed, standardGlobals, type FamilyDescriptor } from './family.ts';

/** Mixtral: softmax over all experts → top-k → always renormalised. Experts are w1 (gate), w3 (up), w2 (down). */
export const mixtral: FamilyDescriptor = {
  name: 'Mixtral',
  modelTypes: ['mixtral'],
  routerRule: 'softmax → top-k → renormalise',
  spec(c) {
    const base = commonSpec(c);
    return {
      ...base,
      family: 'mixtral',
      ...everyLayerWindowed(c, base.numLayers),
      attentionBias: false,
      qkNorm: 'none',
      numExperts: c.int('num_local_experts'),
      topK: c.int('num_experts_per_tok'),
      normTopkProb: true,
      ...everyLayerMoe(c, base.numLayers),
    };
  },
  globalWeights: standardGlobals,
  layerWeights(_spec, layer) {
    const p = `model.layers.${layer}.block_sparse_moe`;
    return {
      ...attentionNames(layer),
      router: `${p}.gate.weight`,
      experts: {
        layout: 'per-expert',
        gate: (e) => `${p}.experts.${e}.w1.weight`,
        up: (e) => `${p}.experts.${e}.w3.weight`,
        down: (e) => `${p}.experts.${e}.w2.weight`,
      },
    };
  },
};
