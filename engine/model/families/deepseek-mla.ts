import type { ConfigReader } from '../config-reader.ts';
import type { LayerWeightNames, ModelSpec, RouterSpec } from '../spec.ts';
import { yarnMscale } from '../onnx/rope.ts';
import { commonSpec, mlpExpertNames } from './family.ts';

/**
 * What DeepSeek-V2 and V3 share (HF modeling_deepseek_v2/_v3): multi-head latent attention with RoPE on the
 * qk_rope_head_dim part of each head, rotated in pairs; routed experts plus n_shared_experts × moe_intermediate_size
 * always-on shared experts; the first first_k_dense_replace layers dense.
 */
/** `yarnSoftmaxScale`: DeepSeek-V3 (in HF) also scales the softmax by yarn's m(factor, mscale_all_dim)²; HF's V2 does
 * not (DeepSeek's own V2 code did), and the engine follows HF. */
export function deepseekSpec(c: ConfigReader, family: string, router: RouterSpec, normTopkProb: boolean, yarnSoftmaxScale: boolean): ModelSpec {
  const nope = c.int('qk_nope_head_dim');
  const rope = c.int('qk_rope_head_dim');
  const headDim = nope + rope;
  const base = commonSpec(c);
  const numExperts = c.int('n_routed_experts');
  const firstDense = c.int('first_k_dense_replace', 0);
  const moeEvery = c.int('moe_layer_freq', 1);
  const ropeSpec = c.rope(rope, c.bool('rope_interleave', true));
  let attentionScale = 1 / Math.sqrt(headDim);
  if (yarnSoftmaxScale && ropeSpec.scaling.type === 'yarn' && ropeSpec.scaling.mscaleAllDim) {
    const statedFactor = Number((c.raw['rope_scaling'] as Record<string, unknown>)['factor'] ?? 1);
    attentionScale *= yarnMscale(statedFactor, ropeSpec.scaling.mscaleAllDim) ** 2;
  }
  const qLoraRank = c.optionalInt('q_lora_rank');
  if (c.bool('attention_bias', false)) throw new Error(`${c.file}: attention_bias true is not supported for ${family} (released checkpoints have none)`);
  if (router.groups && numExperts % router.groups.count !== 0) {
    throw new Error(`${c.file}: n_routed_experts ${numExperts} is not a multiple of n_group ${router.groups.count}`);
  }
  return {
    ...base,
    family,
    numKvHeads: base.numHeads,
    headDim,
    valueHeadDim: c.int('v_head_dim'),
    rope: ropeSpec,
    attentionScale,
    mla: { qLoraRank, kvLoraRank: c.int('kv_lora_rank'), qkNopeHeadDim: nope, qkRopeHeadDim: rope },
    attentionBias: false,
    qkNorm: 'none',
    numExperts,
    topK: c.int('num_experts_per_tok'),
    normTopkProb,
    router,
    moeIntermediateSize: c.int('moe_intermediate_size'),
    denseIntermediateSize: c.int('intermediate_size'),
    sharedExpertIntermediateSize: c.int('n_shared_experts', 0) * c.int('moe_intermediate_size'),
    sharedExpertGate: false,
    moeLayers: Array.from({ length: base.numLayers }, (_, i) => numExperts > 0 && i >= firstDense && i % moeEvery === 0),
  };
}

/** Group-limited selection from config.json: n_group groups, topk_group kept; none when there is one group. */
export function deepseekGroups(c: ConfigReader, score: 'max' | 'top2-sum'): RouterSpec['groups'] {
  const count = c.int('n_group', 1);
  const keep = c.int('topk_group', 1);
  if (count <= 1) return null;
  if (keep < 1 || keep > count) throw new Error(`${c.file}: topk_group ${keep} must be between 1 and n_group ${count}`);
  return { count, keep, score };
}

export function deepseekLayerWeights(spec: ModelSpec, layer: number): LayerWeightNames {
  const p = `model.layers.${layer}`;
  const a = `${p}.self_attn`;
  const names: LayerWeightNames = {
    inputNorm: `${p}.input_layernorm.weight`,
    postAttentionNorm: `${p}.post_attention_layernorm.weight`,
    o: `${a}.o_proj.weight`,
    mla: {
      ...(spec.mla!.qLoraRank === null
        ? { q: `${a}.q_proj.weight` }
        : { qA: `${a}.q_a_proj.weight`, qANorm: `${a}.q_a_layernorm.weight`, qB: `${a}.q_b_proj.weight` }),
      kvA: `${a}.kv_a_proj_with_mqa.weight`,
      kvANorm: `${a}.kv_a_layernorm.weight`,
      kvB: `${a}.kv_b_proj.weight`,
    },
  };
  if (!spec.moeLayers[layer]) {
    return { ...names, denseGate: `${p}.mlp.gate_proj.weight`, denseUp: `${p}.mlp.up_proj.weight`, denseDown: `${p}.mlp.down_proj.weight` };
  }
  const shared = `${p}.mlp.shared_experts`;
  return {
    ...names,
    ...mlpExpertNames(layer),
    ...(spec.sharedExpertIntermediateSize > 0
      ? { sharedGate: `${shared}.gate_proj.weight`, sharedUp: `${shared}.up_proj.weight`, sharedDown: `${shared}.down_proj.weight` }
      : {}),
  };
}
