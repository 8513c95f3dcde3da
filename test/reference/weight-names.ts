import type { Family } from './config.ts';

/** Module paths of a SwiGLU MLP; append ".weight". */
export interface MlpModules {
  gate: string;
  up: string;
  down: string;
}

/**
 * Whole tensor names (no suffix to append) of experts stacked into [E, …] tensors: gpt-oss's gate_up_proj
 * [E, H, 2I] (+ `_bias` [E, 2I]) and down_proj [E, I, H] (+ `_bias` [E, H]); Granite's input_linear [E, 2I, H]
 * and output_linear [E, H, I].
 */
export interface StackedExperts {
  gateUp: string;
  down: string;
}

/** Hugging Face module paths (append ".weight" / ".bias") of one decoder layer, per family. */
export function layerModules(family: Family, layer: number) {
  const prefix = `model.layers.${layer}`;
  const attention = `${prefix}.self_attn`;
  const moe = family === 'mixtral' || family === 'phimoe' || family === 'granitemoe' ? `${prefix}.block_sparse_moe` : `${prefix}.mlp`;
  const w123 = family === 'mixtral' || family === 'phimoe';
  return {
    inputNorm: `${prefix}.input_layernorm`,
    postAttentionNorm: `${prefix}.post_attention_layernorm`,
    q: `${attention}.q_proj`,
    k: `${attention}.k_proj`,
    v: `${attention}.v_proj`,
    o: `${attention}.o_proj`,
    qNorm: `${attention}.q_norm`,
    kNorm: `${attention}.k_norm`,
    /** gpt-oss: a whole tensor name, [numHeads]. */
    sinks: `${attention}.sinks`,
    latent: {
      qA: `${attention}.q_a_proj`,
      qANorm: `${attention}.q_a_layernorm`,
      qB: `${attention}.q_b_proj`,
      kvA: `${attention}.kv_a_proj_with_mqa`,
      kvANorm: `${attention}.kv_a_layernorm`,
      kvB: `${attention}.kv_b_proj`,
    },
    router: family === 'gpt_oss' ? `${moe}.router` : family === 'granitemoe' ? `${moe}.router.layer` : `${moe}.gate`,
    /** DeepSeek-V3: a whole tensor name, [numExperts]. */
    correctionBias: `${moe}.gate.e_score_correction_bias`,
    expert: (expert: number): MlpModules => (w123 ? w123Mlp(`${moe}.experts.${expert}`) : swiGlu(`${moe}.experts.${expert}`)),
    stackedExperts: (family === 'granitemoe'
      ? { gateUp: `${moe}.input_linear.weight`, down: `${moe}.output_linear.weight` }
      : { gateUp: `${moe}.experts.gate_up_proj`, down: `${moe}.experts.down_proj` }) satisfies StackedExperts,
    sharedExpert: swiGlu(family === 'qwen2_moe' ? `${prefix}.mlp.shared_expert` : `${prefix}.mlp.shared_experts`),
    sharedExpertGate: `${prefix}.mlp.shared_expert_gate`,
    denseMlp: swiGlu(`${prefix}.mlp`),
  };
}

export type LayerModules = ReturnType<typeof layerModules>;

function swiGlu(prefix: string): MlpModules {
  return { gate: `${prefix}.gate_proj`, up: `${prefix}.up_proj`, down: `${prefix}.down_proj` };
}

/** Mixtral's and PhiMoE's w1 is the gate, w3 the up projection, w2 the down projection. */
function w123Mlp(prefix: string): MlpModules {
  return { gate: `${prefix}.w1`, up: `${prefix}.w3`, down: `${prefix}.w2` };
}
