/**
 * Random checkpoints in the real Hugging Face on-disk layout of each family: config.json as transformers 4.51's
 * config classes save it, safetensors with HF tensor names and [out, in] shapes, optional shards with an index,
 * optional word-level tokenizer. Tensors are streamed to disk a chunk at a time, so benchmark-sized checkpoints
 * (e.g. OLMoE-shaped, several GB) never sit in memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FAMILIES, parseReferenceConfig, type Family, type ReferenceConfig } from '../reference/config.ts';
import { layerModules, type MlpModules } from '../reference/weight-names.ts';
import { DTYPE_BYTES, encodeFloats, type FloatDtype } from './dtype.ts';
import { GOLDEN_DIR } from './golden.ts';
import { Prng } from './prng.ts';
import { pythonJsonDumps } from './python-json.ts';
import { elementCount, safetensorsLayout, tensorByteLength, type TensorSpec } from './safetensors.ts';

export { writeSafetensors, type SafetensorsTensor } from './safetensors.ts';
export { FAMILIES, type Family };

export interface TinyCheckpointOptions {
  family: Family;
  /** PRNG seed; the same seed gives the same tensor values whatever the dtype rounding or shard count. */
  seed?: number;
  dtype?: FloatDtype;
  /** More than 1: model-0000i-of-0000n.safetensors plus model.safetensors.index.json, as save_pretrained does. */
  shards?: number;
  /**
   * Keys merged over the family's tiny defaults; shapes follow them (hidden_size, num_experts, …). Mixtral and
   * Qwen3-MoE state head_dim (8) explicitly: override it together with hidden_size / num_attention_heads.
   */
  config?: Record<string, unknown>;
  /** Also write the golden cases' word-level tokenizer.json and tokenizer_config.json ("t2" … "t63"). */
  tokenizer?: boolean;
}

/** Tiny defaults: vocab 64, hidden 32, 4 heads (2 KV) of 8, 3 layers, 8 experts, top-2, expert width 16. */
export function writeTinyCheckpoint(dir: string, options: TinyCheckpointOptions): { config: Record<string, unknown> } {
  const dtype = options.dtype ?? 'F32';
  const shards = options.shards ?? 1;
  const config = { ...familyDefaults(options.family, dtype), ...options.config };
  const model = parseReferenceConfig(config);
  const tensors = plannedTensors(model, config);

  fs.mkdirSync(dir, { recursive: true });
  const files = shardFiles(tensors, dtype, shards);
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
      const { fd, position } = positions.get(tensor.name)!;
      streamTensor(fd, position, elementCount(tensor.shape), tensor.init, dtype, prng);
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

/** Keys transformers stores as Python floats; the writer prints them "10000.0" / "1e-06" as Python's json does. */
const FLOAT_KEYS: ReadonlySet<string> = new Set([
  'rope_theta', 'rms_norm_eps', 'initializer_range', 'attention_dropout', 'router_aux_loss_coef',
  'router_jitter_noise', 'clip_qkv', 'factor', 'low_freq_factor', 'high_freq_factor', 'beta_fast', 'beta_slow',
  'attention_factor', 'mscale', 'mscale_all_dim',
]);

/**
 * What `XConfig(**tiny).save_pretrained()` writes with transformers 4.51: every attribute of the model's config
 * class, plus the base attributes that differ from PretrainedConfig's defaults.
 */
function familyDefaults(family: Family, dtype: FloatDtype): Record<string, unknown> {
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
  }
}

/** Values are drawn from N(mean, std²). */
interface Init {
  mean: number;
  std: number;
}

interface PlannedTensor {
  name: string;
  shape: number[];
  init: Init;
}

/** Embeddings of unit RMS; Linear weights of std 1/√in (≈ 0.18 at hidden 32), so router logits spread well. */
const EMBEDDING: Init = { mean: 0, std: 1 };
const NORM: Init = { mean: 1, std: 0.1 };
const BIAS: Init = { mean: 0, std: 0.1 };

/** Every tensor of the checkpoint, in state-dict (module) order. */
function plannedTensors(model: ReferenceConfig, config: Record<string, unknown>): PlannedTensor[] {
  const { hiddenSize, numHeads, numKvHeads, headDim } = model;
  const tensors: PlannedTensor[] = [];
  const add = (module: string, suffix: 'weight' | 'bias', shape: number[], init: Init) =>
    tensors.push({ name: `${module}.${suffix}`, shape, init });
  const linear = (module: string, out: number, input: number, withBias = false) => {
    add(module, 'weight', [out, input], { mean: 0, std: 1 / Math.sqrt(input) });
    if (withBias) add(module, 'bias', [out], BIAS);
  };
  const mlp = (modules: MlpModules, width: number) => {
    linear(modules.gate, width, hiddenSize);
    linear(modules.up, width, hiddenSize);
    linear(modules.down, hiddenSize, width);
  };
  const qkvBias = model.family === 'qwen2_moe' || config.attention_bias === true;

  add('model.embed_tokens', 'weight', [model.vocabSize, hiddenSize], EMBEDDING);
  for (let layer = 0; layer < model.numLayers; layer++) {
    const modules = layerModules(model.family, layer);
    linear(modules.q, numHeads * headDim, hiddenSize, qkvBias);
    linear(modules.k, numKvHeads * headDim, hiddenSize, qkvBias);
    linear(modules.v, numKvHeads * headDim, hiddenSize, qkvBias);
    linear(modules.o, hiddenSize, numHeads * headDim, config.attention_bias === true);
    if (model.qkNorm !== 'none') {
      const wholeProjection = model.qkNorm === 'whole-projection';
      add(modules.qNorm, 'weight', [wholeProjection ? numHeads * headDim : headDim], NORM);
      add(modules.kNorm, 'weight', [wholeProjection ? numKvHeads * headDim : headDim], NORM);
    }
    if (model.moeLayers.includes(layer)) {
      linear(modules.router, model.numExperts, hiddenSize);
      for (let expert = 0; expert < model.numExperts; expert++) mlp(modules.expert(expert), model.expertIntermediate);
      if (model.hasSharedExpert) {
        mlp(modules.sharedExpert, model.sharedExpertIntermediate);
        linear(modules.sharedExpertGate, 1, hiddenSize);
      }
    } else {
      mlp(modules.denseMlp, model.denseIntermediate);
    }
    add(modules.inputNorm, 'weight', [hiddenSize], NORM);
    add(modules.postAttentionNorm, 'weight', [hiddenSize], NORM);
  }
  add('model.norm', 'weight', [hiddenSize], NORM);
  if (!model.tieWordEmbeddings) linear('lm_head', model.vocabSize, hiddenSize);
  return tensors;
}

/** Splits tensors in module order into `shards` files of about equal size, named as save_pretrained names them. */
function shardFiles(tensors: PlannedTensor[], dtype: FloatDtype, shards: number): { file: string; specs: TensorSpec[] }[] {
  const specs = tensors.map(({ name, shape }) => ({ name, shape, dtype }));
  if (!(Number.isInteger(shards) && shards >= 1)) throw new Error(`shards must be a positive integer, got ${shards}`);
  if (shards === 1) return [{ file: 'model.safetensors', specs }];
  const total = specs.reduce((sum, spec) => sum + tensorByteLength(spec), 0);
  const groups: TensorSpec[][] = Array.from({ length: shards }, () => []);
  let start = 0;
  for (const spec of specs) {
    groups[Math.min(shards - 1, Math.floor((start * shards) / total))].push(spec);
    start += tensorByteLength(spec);
  }
  if (groups.some((group) => group.length === 0)) throw new Error(`${tensors.length} tensors do not fill ${shards} shards`);
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

function copyGoldenTokenizer(dir: string, vocabSize: number): void {
  if (vocabSize < 64) throw new Error(`the word-level tokenizer has 64 tokens; vocab_size is ${vocabSize}`);
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
    fs.copyFileSync(path.join(GOLDEN_DIR, 'mixtral-f32', file), path.join(dir, file));
  }
}
