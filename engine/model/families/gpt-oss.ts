import { shown } from '../safetensors.ts';
import { commonSpec, everyLayerMoe, standardGlobals, type FamilyDescriptor } from './family.ts';

/**
 * gpt-oss: z = Wx + b; the top-k z, weighted by the softmax over those k (= softmax → top-k → renormalise); experts
 * with biases and a clamped SwiGLU, (clamp(up, ±limit) + 1) · g·σ(1.702·g) with g = min(gate, limit), gate and up
 * interleaved in gate_up_proj; attention with q/k/v/o biases and a learned sink logit per head, sliding-window
 * and full layers alternating (layer_types). Experts load from float tensors or MXFP4 blocks.
 */
export const gptOss: FamilyDescriptor = {
  name: 'gpt-oss',
  modelTypes: ['gpt_oss'],
  routerRule: '(router logits + bias) → top-k → softmax over the k',
  spec(c) {
    const base = commonSpec(c);
    const window = c.int('sliding_window');
    const layerTypes = c.raw['layer_types'] ?? Array.from({ length: base.numLayers }, (_, i) => (i % 2 === 0 ? 'sliding_attention' : 'full_attention'));
    if (!Array.isArray(layerTypes) || layerTypes.length !== base.numLayers || layerTypes.some((t) => t !== 'sliding_attention' && t !== 'full_attention')) {
      throw new Error(`${c.file}: layer_types must list sliding_attention or full_attention for each of the ${base.numLayers} layers`);
    }
    const quant = c.raw['quantization_config'] as Record<string, unknown> | null | undefined;
    if (quant != null && quant['quant_method'] !== 'mxfp4') {
      throw new Error(`${c.file}: quantization_config.quant_method ${shown(quant['quant_method'])} is not supported (mxfp4, or none)`);
    }
    return {
      ...base,
      family: 'gpt_oss',
      contextLength: c.int('max_position_embeddings'),
      layerWindows: layerTypes.map((t) => (t === 'sliding_attention' ? window : null)),
      attentionSinks: true,
      attentionBias: true,
      qkNorm: 'none',
      numExperts: c.int('num_local_experts'),
      topK: c.int('num_experts_per_tok', c.optionalInt('experts_per_token') ?? undefined),
      normTopkProb: true,
      ...everyLayerMoe(c, base.numLayers),
      expertActivation: { alpha: 1.702, beta: 1, limit: c.num('swiglu_limit', 7) },
      expertStorage: quant != null ? 'mxfp4' : 'float',
    };
  },
  globalWeights: standardGlobals,
  layerWeights(spec, layer) {
    const p = `model.layers.${layer}`;
    const a = `${p}.self_attn`;
    const m = `${p}.mlp`;
    return {
      inputNorm: `${p}.input_layernorm.weight`,
      postAttentionNorm: `${p}.post_attention_layernorm.weight`,
      q: `${a}.q_proj.weight`, k: `${a}.k_proj.weight`, v: `${a}.v_proj.weight`, o: `${a}.o_proj.weight`,
      qBias: `${a}.q_proj.bias`, kBias: `${a}.k_proj.bias`, vBias: `${a}.v_proj.bias`, oBias: `${a}.o_proj.bias`,
      sinks: `${a}.sinks`,
      router: `${m}.router.weight`,
      routerBias: `${m}.router.bias`,
      experts: {
        layout: 'gpt-oss',
        gateUp: `${m}.experts.gate_up_proj`,
        gateUpBias: `${m}.experts.gate_up_proj_bias`,
        down: `${m}.experts.down_proj`,
        downBias: `${m}.experts.down_proj_bias`,
        mxfp4: spec.expertStorage === 'mxfp4',
      },
    };
  },
};
