import type { Family } from './config.ts';

/** Module paths of a SwiGLU MLP; append ".weight". */
export interface MlpModules {
  gate: string;
  up: string;
  down: string;
}

/** Hugging Face module paths (append ".weight" / ".bias") of one decoder layer, per family. */
export function layerModules(family: Family, layer: number) {
  const prefix = `model.layers.${layer}`;
  const attention = `${prefix}.self_attn`;
  const moe = family === 'mixtral' ? `${prefix}.block_sparse_moe` : `${prefix}.mlp`;
  return {
    inputNorm: `${prefix}.input_layernorm`,
    postAttentionNorm: `${prefix}.post_attention_layernorm`,
    q: `${attention}.q_proj`,
    k: `${attention}.k_proj`,
    v: `${attention}.v_proj`,
    o: `${attention}.o_proj`,
    qNorm: `${attention}.q_norm`,
    kNorm: `${attention}.k_norm`,
    router: `${moe}.gate`,
    expert: (expert: number): MlpModules =>
      family === 'mixtral' ? mixtralExpert(`${moe}.experts.${expert}`) : swiGlu(`${moe}.experts.${expert}`),
    sharedExpert: swiGlu(`${prefix}.mlp.shared_expert`),
    sharedExpertGate: `${prefix}.mlp.shared_expert_gate`,
    denseMlp: swiGlu(`${prefix}.mlp`),
  };
}

export type LayerModules = ReturnType<typeof layerModules>;

function swiGlu(prefix: string): MlpModules {
  return { gate: `${prefix}.gate_proj`, up: `${prefix}.up_proj`, down: `${prefix}.down_proj` };
}

/** Mixtral's w1 is the gate, w3 the up projection, w2 the down projection. */
function mixtralExpert(prefix: string): MlpModules {
  return { gate: `${prefix}.w1`, up: `${prefix}.w3`, down: `${prefix}.w2` };
}
