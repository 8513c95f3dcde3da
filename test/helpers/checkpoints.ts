/**
 * Random checkpoints in the real Hugging Face on-disk layout of each family: config.json as transformers 4.51's
 * config classes save it (the later families: with the keys of their golden-next configs), safetensors with HF
 * tensor names and shapes, optional shards with an index, optional word-level tokenizer. Tensors are streamed to disk
 * a chunk (or one expert) at a time, so benchmark-sized checkpoints (e.g. OLMoE-shaped, several GB) never sit in
 * memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FAMILIES, NEXT_FAMILIES, parseReferenceConfig, type Family, type ReferenceConfig } from '../reference/config.ts';
import { layerModules, type LayerModules, type MlpModules } from '../reference/weight-names.ts';
import { DTYPE_BYTES, encodeFloats, quantizeMxfp4, type FloatDtype } from './dtype.ts';
import { sharedFolder } from './golden.ts';
import { Prng } from './prng.ts';
import { pythonJsonDumps } from './python-json.ts';
import { elementCount, safetensorsLayout, tensorByteLength, type TensorSpec } from './safetensors.ts';

export { writeSafetensors, type SafetensorsTensor } from './safetensors.ts';
export { FAMILIES, NEXT_FAMILIES, type Family };

export interface TinyCheckpointOptions {
  family: Family;
  /** PRNG seed; the same seed gives the same tensor values whatever the dtype rounding or shard count. */
  seed?: number;
  dtype?: FloatDtype;
  /** More than 1: model-0000i-of-0000n.safetensors plus model.safetensors.index.json, as save_pretrained does. */
  shards?: number;
  /**
   * Keys merged over the family's tiny defaults; shapes follow them (hidden_size, num_experts, …). Mixtral, Qwen3-MoE
   * and gpt-oss state head_dim (8) explicitly: override it together with hidden_size / num_attention_heads. gpt-oss's
   * layer_types and PhiMoE's longrope factors follow num_hidden_layers and the head size unless given. DeepSeek-V3
   * without q_lora_rank: { q_lora_rank: null } (q_proj instead of q_a_proj / q_a_layernorm / q_b_proj).
   */
  config?: Record<string, unknown>;
  /**
   * gpt-oss only: store the experts as the released checkpoints do, *_blocks [E, out, in/32, 16] and *_scales
   * [E, out, in/32] (U8, MXFP4), with quantization_config in config.json; the other tensors take `dtype`. The expert
   * values are MXFP4-representable either way, so one seed gives the same model with or without this.
   */
  mxfp4Experts?: boolean;
  /** Also write the golden cases' word-level tokenizer.json and tokenizer_config.json ("t2" … "t63"). */
  tokenizer?: boolean;
}

/**
 * Tiny defaults: vocab 64, hidden 32, 4 heads (2 KV) of 8, 3 layers, 8 experts, top-2, expert width 16 (gpt-oss:
 * 32, a whole MXFP4 block); DeepSeek: MLA with ranks 12, the first layer dense.
 */
export function writeTinyCheckpoint(dir: string, options: TinyCheckpointOptions): { config: Record<string, unknown> } {
  const dtype = options.dtype ?? 'F32';
  const shards = options.shards ?? 1;
  const mxfp4 = options.mxfp4Experts === true;
  if (mxfp4 && options.family !== 'gpt_oss') throw new Error(`mxfp4Experts is for gpt_oss, not ${options.family}`);
  const config: Record<string, unknown> = { ...familyDefaults(options.family, dtype, options.config ?? {}), ...options.config };
  if (mxfp4) config.quantization_config = MXFP4_QUANTIZATION;
  const model = parseReferenceConfig(config);
  const tensors = plannedTensors(model, config);

  fs.mkdirSync(dir, { recursive: true });
  const files = shardFiles(tensors.flatMap((tensor) => storedSpecs(tensor, dtype, mxfp4)), shards);
  const positions = new Map<string, { fd: number; position: number }>();
  const descriptors = files.map(({ file, specs }) => {
    // Name order within a file, as the safetensors library lays out tensors of one dtype.
    const layout = safetensorsLayout([...specs].sort((a, b) => (a.name < b.name ? -1 : 1)));
    const fd = fs.openSync(path.join(dir, file), 'w');
    fs.writeSync(fd, layout.header, 0, layout.header.length, 0);
    for (const [name, position] of layout.positions) positions.set(name, { fd, position });
    return fd;
  });
  try {
    const prng = new Prng(options.seed ?? 1);
    for (const tensor of tensors) {
      if (tensor.init.mxfp4) {
        writeMxfp4Experts(tensor, positions, mxfp4 ? 'mxfp4' : dtype, prng);
      } else {
        const { fd, position } = positions.get(tensor.name)!;
        streamTensor(fd, position, elementCount(tensor.shape), tensor.init, dtype, prng);
      }
    }
  } finally {
    descriptors.forEach((fd) => fs.closeSync(fd));
  }

  if (shards > 1) writeShardIndex(dir, files);
  if (options.tokenizer) copyGoldenTokenizer(dir, model.vocabSize);
  // Written last, so a folder with a config.json holds a complete checkpoint.
  fs.writeFileSync(path.join(dir, 'config.json'), pythonJsonDumps(config, FLOAT_KEYS));
  return { config };
}

const TORCH_DTYPE: Record<FloatDtype, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/** As in the released gpt-oss config.json: attention, router, embeddings and head stay unquantised. */
const MXFP4_QUANTIZATION = {
  quant_method: 'mxfp4',
  modules_to_not_convert: ['model.layers.*.self_attn', 'model.layers.*.mlp.router', 'model.embed_tokens', 'lm_head'],
};

/** Keys transformers stores as Python floats; the writer prints them "10000.0" / "1e-06" as Python's json does. */
const FLOAT_KEYS: ReadonlySet<string> = new Set([
  'rope_theta', 'rms_norm_eps', 'initializer_range', 'attention_dropout', 'router_aux_loss_coef',
  'router_jitter_noise', 'clip_qkv', 'factor', 'low_freq_factor', 'high_freq_factor', 'beta_fast', 'beta_slow',
  'attention_factor', 'mscale', 'mscale_all_dim', 'routed_scaling_factor', 'aux_loss_alpha', 'swiglu_limit',
  'embedding_multiplier', 'attention_multiplier', 'residual_multiplier', 'logits_scaling', 'input_jitter_noise',
  'short_factor', 'long_factor', 'short_mscale', 'long_mscale',
]);

/**
 * First set: what `XConfig(**tiny).save_pretrained()` writes with transformers 4.51, every attribute of the model's
 * config class plus the base attributes that differ from PretrainedConfig's defaults. Later families: the keys of
 * their golden-next config.json, with values of their own. `overrides` only steer the values derived from them.
 */
function familyDefaults(family: Family, dtype: FloatDtype, overrides: Record<string, unknown>): Record<string, unknown> {
  const common = {
    model_type: family,
    vocab_size: 64,
    hidden_size: 32,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    num_hidden_layers: 3,
    num_experts_per_tok: 2,
    hidden_act: 'silu',
    max_position_embeddings: 256,
    initializer_range: 0.02,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    attention_dropout: 0,
    use_cache: true,
    output_router_logits: false,
    tie_word_embeddings: false,
    eos_token_id: 1,
    torch_dtype: TORCH_DTYPE[dtype],
    transformers_version: '4.51.3',
  };
  const qwen = {
    num_experts: 8,
    moe_intermediate_size: 16,
    intermediate_size: 40,
    decoder_sparse_step: 1,
    use_sliding_window: false,
    sliding_window: null,
    max_window_layers: 28,
    rope_scaling: null,
    router_aux_loss_coef: 0.001,
  };
  switch (family) {
    case 'mixtral':
      return {
        ...common,
        architectures: ['MixtralForCausalLM'],
        num_local_experts: 8,
        intermediate_size: 16,
        head_dim: 8,
        // Mixtral's class default is 1, so an unset BOS is saved explicitly.
        bos_token_id: null,
        sliding_window: null,
        router_aux_loss_coef: 0.001,
        router_jitter_noise: 0,
      };
    case 'qwen2_moe':
      return {
        ...common,
        ...qwen,
        architectures: ['Qwen2MoeForCausalLM'],
        shared_expert_intermediate_size: 24,
        norm_topk_prob: false,
        mlp_only_layers: [1],
      };
    case 'qwen3_moe':
      return {
        ...common,
        ...qwen,
        architectures: ['Qwen3MoeForCausalLM'],
        head_dim: 8,
        norm_topk_prob: true,
        mlp_only_layers: [],
        attention_bias: false,
      };
    case 'olmoe':
      return {
        ...common,
        architectures: ['OlmoeForCausalLM'],
        num_experts: 8,
        intermediate_size: 16,
        norm_topk_prob: false,
        clip_qkv: null,
        attention_bias: false,
        // OlmoeConfig's own default, saved because PretrainedConfig's is None.
        pad_token_id: 1,
        rope_scaling: null,
        router_aux_loss_coef: 0.01,
      };
    default:
      return nextFamilyDefaults(family, dtype, overrides);
  }
}

function nextFamilyDefaults(
  family: (typeof NEXT_FAMILIES)[number],
  dtype: FloatDtype,
  overrides: Record<string, unknown>,
): Record<string, unknown> {
  const common = {
    vocab_size: 64,
    hidden_size: 32,
    num_hidden_layers: 3,
    rms_norm_eps: 1e-6,
    max_position_embeddings: 256,
    num_experts_per_tok: 2,
    tie_word_embeddings: false,
    eos_token_id: 1,
    bos_token_id: null,
    torch_dtype: TORCH_DTYPE[dtype],
    hidden_act: 'silu',
    attention_dropout: 0,
    initializer_range: 0.02,
    model_type: family,
    num_attention_heads: 4,
  };
  const deepseek = {
    num_key_value_heads: 4,
    intermediate_size: 40,
    moe_intermediate_size: 16,
    n_routed_experts: 8,
    kv_lora_rank: 12,
    qk_nope_head_dim: 8,
    qk_rope_head_dim: 4,
    v_head_dim: 8,
    first_k_dense_replace: 1,
    attention_bias: false,
    rope_theta: 10000,
    pretraining_tp: 1,
    use_cache: true,
  };
  const layers = (overrides.num_hidden_layers as number | undefined) ?? common.num_hidden_layers;
  switch (family) {
    case 'deepseek_v3':
      return {
        ...common,
        ...deepseek,
        architectures: ['DeepseekV3ForCausalLM'],
        rope_interleave: true,
        n_shared_experts: 1,
        routed_scaling_factor: 1.5,
        topk_method: 'noaux_tc',
        scoring_func: 'sigmoid',
        q_lora_rank: 12,
        n_group: 4,
        topk_group: 2,
        norm_topk_prob: true,
        // As DeepSeek-V3 ships it (factor 40 from 4096), scaled down: 256 / 64, mscale in the softmax scale.
        rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 64, beta_fast: 32, beta_slow: 1, mscale: 1, mscale_all_dim: 1 },
      };
    case 'deepseek_v2':
      return {
        ...common,
        ...deepseek,
        architectures: ['DeepseekV2ForCausalLM'],
        mlp_bias: false,
        norm_topk_prob: false,
        rope_scaling: null,
        aux_loss_alpha: 0.001,
        seq_aux: true,
        scoring_func: 'softmax',
        q_lora_rank: null,
        topk_method: 'group_limited_greedy',
        n_group: 4,
        topk_group: 2,
        n_shared_experts: 2,
        routed_scaling_factor: 1.5,
      };
    case 'gpt_oss':
      return {
        ...common,
        rms_norm_eps: 1e-5,
        max_position_embeddings: 131072,
        architectures: ['GptOssForCausalLM'],
        num_key_value_heads: 2,
        head_dim: 8,
        intermediate_size: 32,
        num_local_experts: 8,
        experts_per_token: 2,
        sliding_window: 6,
        attention_bias: true,
        layer_types: Array.from({ length: layers }, (_, layer) => (layer % 2 === 0 ? 'sliding_attention' : 'full_attention')),
        rope_theta: 150000,
        initial_context_length: 4096,
        rope_scaling: { rope_type: 'yarn', factor: 32, beta_fast: 32, beta_slow: 1, original_max_position_embeddings: 4096, truncate: false },
        swiglu_limit: 7,
        router_aux_loss_coef: 0.9,
        output_router_logits: false,
        use_cache: true,
        pad_token_id: 0,
      };
    case 'granitemoe':
      return {
        ...common,
        tie_word_embeddings: true,
        architectures: ['GraniteMoeForCausalLM'],
        num_key_value_heads: 2,
        intermediate_size: 16,
        num_local_experts: 8,
        rope_theta: 10000,
        rope_scaling: null,
        attention_bias: false,
        embedding_multiplier: 8,
        attention_multiplier: 0.25,
        residual_multiplier: 0.3,
        logits_scaling: 4,
        router_aux_loss_coef: 0,
        output_router_logits: false,
        position_embedding_type: 'rope',
        use_cache: true,
      };
    case 'phimoe': {
      const hidden = (overrides.hidden_size as number | undefined) ?? common.hidden_size;
      const heads = (overrides.num_attention_heads as number | undefined) ?? common.num_attention_heads;
      const pairs = hidden / heads / 2;
      // Phi-3.5-MoE's mscale for its factor 32, here for 256 / 64: √(1 + ln 4 / ln 64).
      const mscale = Math.sqrt(1 + Math.log(4) / Math.log(64));
      return {
        ...common,
        rms_norm_eps: 1e-5,
        architectures: ['PhiMoEForCausalLM'],
        num_key_value_heads: 2,
        intermediate_size: 16,
        num_local_experts: 8,
        rope_theta: 10000,
        attention_bias: true,
        lm_head_bias: true,
        router_jitter_noise: 0.01,
        input_jitter_noise: 0.01,
        sliding_window: null,
        original_max_position_embeddings: 64,
        rope_scaling: {
          type: 'longrope',
          short_factor: Array.from({ length: pairs }, (_, i) => 1 + i / 2),
          long_factor: Array.from({ length: pairs }, (_, i) => 1.25 + 2 * i),
          short_mscale: mscale,
          long_mscale: mscale,
          original_max_position_embeddings: 64,
        },
        router_aux_loss_coef: 0,
        output_router_logits: false,
        use_cache: true,
      };
    }
  }
}

/** Values are drawn from N(mean, std²). */
interface Init {
  mean: number;
  std: number;
  /**
   * gpt-oss experts: per expert, an [out, in] matrix of draws rounded to MXFP4 (blocks of 32 along `in`), stored as
   * HF's dequantized [E, in, out] or as MXFP4 blocks and scales.
   */
  mxfp4?: true;
}

interface PlannedTensor {
  name: string;
  shape: number[];
  init: Init;
}

/**
 * Embeddings of unit RMS (after Granite's embedding_multiplier); Linear weights of std 1/√in (≈ 0.18 at hidden 32),
 * so router logits spread well.
 */
const EMBEDDING: Init = { mean: 0, std: 1 };
const NORM: Init = { mean: 1, std: 0.1 };
const BIAS: Init = { mean: 0, std: 0.1 };
/** gpt-oss attention sinks: logits of the size of the attention scores'. */
const SINK: Init = { mean: 0, std: 1 };

/** Adds tensors to a plan in state-dict (module) order. */
class TensorPlan {
  readonly tensors: PlannedTensor[] = [];

  tensor(name: string, shape: number[], init: Init): void {
    this.tensors.push({ name, shape, init });
  }

  weight(module: string, shape: number[], init: Init): void {
    this.tensor(`${module}.weight`, shape, init);
  }

  linear(module: string, out: number, input: number, withBias = false): void {
    this.weight(module, [out, input], { mean: 0, std: 1 / Math.sqrt(input) });
    if (withBias) this.tensor(`${module}.bias`, [out], BIAS);
  }

  mlp(modules: MlpModules, hidden: number, width: number): void {
    this.linear(modules.gate, width, hidden);
    this.linear(modules.up, width, hidden);
    this.linear(modules.down, hidden, width);
  }

  norm(module: string, size: number, withBias: boolean): void {
    this.weight(module, [size], NORM);
    if (withBias) this.tensor(`${module}.bias`, [size], BIAS);
  }
}

/** Every tensor of the checkpoint, in state-dict (module) order. */
function plannedTensors(model: ReferenceConfig, config: Record<string, unknown>): PlannedTensor[] {
  const plan = new TensorPlan();
  const layerNorms = model.norm === 'layer';
  plan.weight('model.embed_tokens', [model.vocabSize, model.hiddenSize], { mean: 0, std: EMBEDDING.std / model.embeddingMultiplier });
  for (let layer = 0; layer < model.numLayers; layer++) {
    const modules = layerModules(model.family, layer);
    planAttention(plan, model, config, modules);
    if (model.moeLayers.includes(layer)) planMoe(plan, model, modules);
    else plan.mlp(modules.denseMlp, model.hiddenSize, model.denseIntermediate);
    plan.norm(modules.inputNorm, model.hiddenSize, layerNorms);
    plan.norm(modules.postAttentionNorm, model.hiddenSize, layerNorms);
  }
  plan.norm('model.norm', model.hiddenSize, layerNorms);
  if (!model.tieWordEmbeddings) plan.linear('lm_head', model.vocabSize, model.hiddenSize, config.lm_head_bias === true);
  // Tying shares the weight only: PhiMoE's lm_head keeps its own bias.
  else if (config.lm_head_bias === true) plan.tensor('lm_head.bias', [model.vocabSize], BIAS);
  return plan.tensors;
}

function planAttention(plan: TensorPlan, model: ReferenceConfig, config: Record<string, unknown>, modules: LayerModules): void {
  const { hiddenSize, attention } = model;
  const bias = config.attention_bias === true;
  if (attention.kind === 'latent') {
    const { numHeads, qLoraRank, kvLoraRank, nopeDim, ropeDim, valueDim } = attention;
    const { latent } = modules;
    if (qLoraRank === null) {
      plan.linear(modules.q, numHeads * (nopeDim + ropeDim), hiddenSize);
    } else {
      plan.linear(latent.qA, qLoraRank, hiddenSize, bias);
      plan.norm(latent.qANorm, qLoraRank, false);
      plan.linear(latent.qB, numHeads * (nopeDim + ropeDim), qLoraRank);
    }
    plan.linear(latent.kvA, kvLoraRank + ropeDim, hiddenSize, bias);
    plan.norm(latent.kvANorm, kvLoraRank, false);
    plan.linear(latent.kvB, numHeads * (nopeDim + valueDim), kvLoraRank);
    plan.linear(modules.o, hiddenSize, numHeads * valueDim, bias);
    return;
  }
  const { numHeads, numKvHeads, headDim } = attention;
  const qkvBias = model.family === 'qwen2_moe' || bias;
  plan.linear(modules.q, numHeads * headDim, hiddenSize, qkvBias);
  plan.linear(modules.k, numKvHeads * headDim, hiddenSize, qkvBias);
  plan.linear(modules.v, numKvHeads * headDim, hiddenSize, qkvBias);
  plan.linear(modules.o, hiddenSize, numHeads * headDim, bias);
  if (attention.qkNorm !== 'none') {
    const wholeProjection = attention.qkNorm === 'whole-projection';
    plan.weight(modules.qNorm, [wholeProjection ? numHeads * headDim : headDim], NORM);
    plan.weight(modules.kNorm, [wholeProjection ? numKvHeads * headDim : headDim], NORM);
  }
  if (attention.sinks) plan.tensor(modules.sinks, [numHeads], SINK);
}

function planMoe(plan: TensorPlan, model: ReferenceConfig, modules: LayerModules): void {
  const { hiddenSize: H, numExperts: E, expertIntermediate: I } = model;
  plan.linear(modules.router, E, H, model.family === 'gpt_oss');
  if (model.router.kind === 'deepseek-v3') plan.tensor(modules.correctionBias, [E], BIAS);
  const { gateUp, down } = modules.stackedExperts;
  switch (model.expertLayout) {
    case 'modules':
      for (let expert = 0; expert < E; expert++) plan.mlp(modules.expert(expert), H, I);
      break;
    case 'gpt-oss':
      plan.tensor(gateUp, [E, H, 2 * I], { mean: 0, std: 1 / Math.sqrt(H), mxfp4: true });
      plan.tensor(`${gateUp}_bias`, [E, 2 * I], BIAS);
      plan.tensor(down, [E, I, H], { mean: 0, std: 1 / Math.sqrt(I), mxfp4: true });
      plan.tensor(`${down}_bias`, [E, H], BIAS);
      break;
    case 'granite':
      plan.tensor(gateUp, [E, 2 * I, H], { mean: 0, std: 1 / Math.sqrt(H) });
      plan.tensor(down, [E, H, I], { mean: 0, std: 1 / Math.sqrt(I) });
      break;
  }
  if (model.sharedExperts !== 'none') plan.mlp(modules.sharedExpert, H, model.sharedExpertIntermediate);
  if (model.sharedExperts === 'gated') plan.linear(modules.sharedExpertGate, 1, H);
}

/** The file tensors a planned one becomes: itself, or for MXFP4 storage its blocks and scales. */
function storedSpecs(tensor: PlannedTensor, dtype: FloatDtype, mxfp4: boolean): TensorSpec[] {
  if (!(tensor.init.mxfp4 && mxfp4)) return [{ name: tensor.name, shape: tensor.shape, dtype }];
  const [experts, input, out] = tensor.shape;
  if (input % 32 !== 0) throw new Error(`${tensor.name}: MXFP4 needs an input size that is a multiple of 32, got ${input}`);
  return [
    { name: `${tensor.name}_blocks`, shape: [experts, out, input / 32, 16], dtype: 'U8' },
    { name: `${tensor.name}_scales`, shape: [experts, out, input / 32], dtype: 'U8' },
  ];
}

/** Splits tensors in module order into `shards` files of about equal size, named as save_pretrained names them. */
function shardFiles(specs: TensorSpec[], shards: number): { file: string; specs: TensorSpec[] }[] {
  if (!(Number.isInteger(shards) && shards >= 1)) throw new Error(`shards must be a positive integer, got ${shards}`);
  if (shards === 1) return [{ file: 'model.safetensors', specs }];
  const total = specs.reduce((sum, spec) => sum + tensorByteLength(spec), 0);
  const groups: TensorSpec[][] = Array.from({ length: shards }, () => []);
  let start = 0;
  for (const spec of specs) {
    groups[Math.min(shards - 1, Math.floor((start * shards) / total))].push(spec);
    start += tensorByteLength(spec);
  }
  if (groups.some((group) => group.length === 0)) throw new Error(`${specs.length} tensors do not fill ${shards} shards`);
  const count = String(shards).padStart(5, '0');
  return groups.map((group, i) => ({ file: `model-${String(i + 1).padStart(5, '0')}-of-${count}.safetensors`, specs: group }));
}

function writeShardIndex(dir: string, files: { file: string; specs: TensorSpec[] }[]): void {
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (const { file, specs } of files) {
    for (const spec of specs) {
      weightMap[spec.name] = file;
      totalSize += tensorByteLength(spec);
    }
  }
  const index = { metadata: { total_size: totalSize }, weight_map: weightMap };
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), pythonJsonDumps(index));
}

/** Values generated, converted and written at a time (4 MiB of float32). */
const CHUNK_ELEMENTS = 1 << 20;

function streamTensor(fd: number, position: number, count: number, init: Init, dtype: FloatDtype, prng: Prng): void {
  const chunk = new Float32Array(Math.min(count, CHUNK_ELEMENTS));
  for (let done = 0; done < count; done += chunk.length) {
    const values = chunk.subarray(0, Math.min(chunk.length, count - done));
    prng.fillNormal(values, init.mean, init.std);
    const bytes = encodeFloats(values, dtype);
    fs.writeSync(fd, bytes, 0, bytes.length, position + done * DTYPE_BYTES[dtype]);
  }
}

/**
 * Draws each expert's [out, in] matrix (rows of `in` values), rounds it to MXFP4 and writes it as HF's dequantized
 * [in, out] slice of the [E, in, out] tensor in `storage` dtype, or as that expert's blocks and scales.
 */
function writeMxfp4Experts(
  tensor: PlannedTensor,
  positions: Map<string, { fd: number; position: number }>,
  storage: FloatDtype | 'mxfp4',
  prng: Prng,
): void {
  const [experts, input, out] = tensor.shape;
  const draws = new Float32Array(out * input);
  for (let expert = 0; expert < experts; expert++) {
    prng.fillNormal(draws, tensor.init.mean, tensor.init.std);
    const { blocks, scales, rounded } = quantizeMxfp4(draws);
    if (storage === 'mxfp4') {
      const blocksAt = positions.get(`${tensor.name}_blocks`)!;
      const scalesAt = positions.get(`${tensor.name}_scales`)!;
      fs.writeSync(blocksAt.fd, blocks, 0, blocks.length, blocksAt.position + expert * blocks.length);
      fs.writeSync(scalesAt.fd, scales, 0, scales.length, scalesAt.position + expert * scales.length);
    } else {
      const transposed = new Float32Array(rounded.length);
      for (let o = 0; o < out; o++) for (let i = 0; i < input; i++) transposed[i * out + o] = rounded[o * input + i];
      const bytes = encodeFloats(transposed, storage);
      const { fd, position } = positions.get(tensor.name)!;
      fs.writeSync(fd, bytes, 0, bytes.length, position + expert * bytes.length);
    }
  }
}

function copyGoldenTokenizer(dir: string, vocabSize: number): void {
  if (vocabSize < 64) throw new Error(`the word-level tokenizer has 64 tokens; vocab_size is ${vocabSize}`);
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
    fs.copyFileSync(path.join(sharedFolder('golden', 'mixtral-f32'), file), path.join(dir, file));
  }
}
