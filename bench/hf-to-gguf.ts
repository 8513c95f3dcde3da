/**
 * An OLMoE Hugging Face checkpoint folder → GGUF files for llama.cpp, with the tensor names, shapes and metadata
 * llama.cpp's convert_hf_to_gguf.py (OlmoeModel) writes and src/models/olmoe.cpp loads:
 *   token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, attn_q_norm, attn_k_norm, ffn_norm,
 *   ffn_gate_inp, ffn_gate_exps, ffn_up_exps, ffn_down_exps}, output_norm, output
 * Experts are stacked [E, out, in] (ggml dims [in, out, E]); no q/k permutation (OLMoE uses NeoX rope, as HF).
 * Like the converter, norms and the router (ffn_gate_inp) stay F32 and every other matrix takes the file's type,
 * except `output` in a Q4_0 file: Q8_0, as our int4 keeps the LM head at int8 (llama-quantize's Q4_0 makes it Q6_K).
 * The token embedding takes the file's type (Q4_0 in a Q4_0 file, as llama-quantize and our int4 do).
 *
 * llama.cpp needs a tokenizer in the metadata; the checkpoint has none, so a SentencePiece-style ("llama") vocab of
 * the model's size is generated: <unk>, <s>, </s>, the 256 byte tokens <0x00>…<0xFF> (the SPM loader requires
 * them), then "▁t259"… as normal tokens. The benchmark feeds token ids, so the text of the tokens is never used.
 */
import fs from 'node:fs';
import path from 'node:path';
import { openCheckpointWeights } from '../test/helpers/checkpoint-weights.ts';
import { GgufWriter, LLAMA_FILE_TYPE, meta, type GgmlType, type GgufTensorInfo, type MetadataValue } from './gguf.ts';

export type GgufFileType = Extract<GgmlType, 'F32' | 'Q8_0' | 'Q4_0'>;

interface OlmoeConfig {
  hidden_size: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  num_hidden_layers: number;
  num_experts: number;
  num_experts_per_tok: number;
  intermediate_size: number;
  vocab_size: number;
  max_position_embeddings: number;
  rope_theta: number;
  rms_norm_eps: number;
  model_type: string;
}

/** One GGUF tensor and where its values come from in the HF checkpoint. */
interface Planned {
  info: (type: GgufFileType) => GgufTensorInfo;
  /** HF tensor names whose values, concatenated in order, are the GGUF tensor's row-major values. */
  sources: string[];
}

function plan(c: OlmoeConfig): Planned[] {
  const H = c.hidden_size;
  const kv = (c.hidden_size / c.num_attention_heads) * c.num_key_value_heads;
  const E = c.num_experts;
  const I = c.intermediate_size;
  const V = c.vocab_size;
  const out: Planned[] = [];
  const matrix = (name: string, dims: number[], sources: string[]) => out.push({ info: (type) => ({ name, dims, type }), sources });
  const f32 = (name: string, dims: number[], source: string) => out.push({ info: () => ({ name, dims, type: 'F32' }), sources: [source] });

  matrix('token_embd.weight', [H, V], ['model.embed_tokens.weight']);
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const hf = `model.layers.${i}`;
    const blk = `blk.${i}`;
    f32(`${blk}.attn_norm.weight`, [H], `${hf}.input_layernorm.weight`);
    matrix(`${blk}.attn_q.weight`, [H, H], [`${hf}.self_attn.q_proj.weight`]);
    matrix(`${blk}.attn_k.weight`, [H, kv], [`${hf}.self_attn.k_proj.weight`]);
    matrix(`${blk}.attn_v.weight`, [H, kv], [`${hf}.self_attn.v_proj.weight`]);
    matrix(`${blk}.attn_output.weight`, [H, H], [`${hf}.self_attn.o_proj.weight`]);
    f32(`${blk}.attn_q_norm.weight`, [H], `${hf}.self_attn.q_norm.weight`);
    f32(`${blk}.attn_k_norm.weight`, [kv], `${hf}.self_attn.k_norm.weight`);
    f32(`${blk}.ffn_norm.weight`, [H], `${hf}.post_attention_layernorm.weight`);
    f32(`${blk}.ffn_gate_inp.weight`, [H, E], `${hf}.mlp.gate.weight`);
    const experts = (proj: string) => Array.from({ length: E }, (_, e) => `${hf}.mlp.experts.${e}.${proj}.weight`);
    matrix(`${blk}.ffn_gate_exps.weight`, [H, I, E], experts('gate_proj'));
    matrix(`${blk}.ffn_down_exps.weight`, [I, H, E], experts('down_proj'));
    matrix(`${blk}.ffn_up_exps.weight`, [H, I, E], experts('up_proj'));
  }
  f32('output_norm.weight', [H], 'model.norm.weight');
  // In a Q4_0 file the LM head is Q8_0: our int4 keeps it at int8, as llama-quantize keeps it wider (Q6_K).
  out.push({ info: (type) => ({ name: 'output.weight', dims: [H, V], type: type === 'Q4_0' ? 'Q8_0' : type }), sources: ['lm_head.weight'] });
  return out;
}

function metadata(c: OlmoeConfig, type: GgufFileType, name: string): [string, MetadataValue][] {
  const V = c.vocab_size;
  const tokens: string[] = ['<unk>', '<s>', '</s>'];
  for (let b = 0; b < 256; b++) tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  for (let i = tokens.length; i < V; i++) tokens.push(`▁t${i}`);
  const tokenTypes = Int32Array.from({ length: V }, (_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1));
  const scores = Float32Array.from({ length: V }, (_, i) => (i < 259 ? 0 : -i));
  const arch = 'olmoe';
  return [
    ['general.architecture', meta.string(arch)],
    ['general.type', meta.string('model')],
    ['general.name', meta.string(name)],
    [`${arch}.block_count`, meta.u32(c.num_hidden_layers)],
    [`${arch}.context_length`, meta.u32(c.max_position_embeddings)],
    [`${arch}.embedding_length`, meta.u32(c.hidden_size)],
    [`${arch}.feed_forward_length`, meta.u32(c.intermediate_size)],
    [`${arch}.attention.head_count`, meta.u32(c.num_attention_heads)],
    [`${arch}.attention.head_count_kv`, meta.u32(c.num_key_value_heads)],
    [`${arch}.rope.freq_base`, meta.f32(c.rope_theta)],
    // The converter writes 1e-5 (OLMoE-1B-7B's value) whatever the config says; the config's value keeps both
    // sides computing the same function.
    [`${arch}.attention.layer_norm_rms_epsilon`, meta.f32(c.rms_norm_eps)],
    [`${arch}.expert_count`, meta.u32(c.num_experts)],
    [`${arch}.expert_used_count`, meta.u32(c.num_experts_per_tok)],
    ['general.file_type', meta.u32(LLAMA_FILE_TYPE[type])],
    ['general.quantization_version', meta.u32(2)],
    ['tokenizer.ggml.model', meta.string('llama')],
    ['tokenizer.ggml.tokens', meta.strings(tokens)],
    ['tokenizer.ggml.scores', meta.f32s(scores)],
    ['tokenizer.ggml.token_type', meta.i32s(tokenTypes)],
    ['tokenizer.ggml.unknown_token_id', meta.u32(0)],
    ['tokenizer.ggml.bos_token_id', meta.u32(1)],
    ['tokenizer.ggml.eos_token_id', meta.u32(2)],
    ['tokenizer.ggml.add_bos_token', meta.bool(false)],
    ['tokenizer.ggml.add_eos_token', meta.bool(false)],
  ];
}

/**
 * Writes one GGUF per requested type from the checkpoint in `checkpointDir`, reading each HF tensor once.
 * Returns the file of each type. Files that exist already are kept (a complete file has its expected size).
 */
export function writeOlmoeGgufs(checkpointDir: string, outDir: string, types: GgufFileType[]): Record<GgufFileType, string> {
  const config = JSON.parse(fs.readFileSync(path.join(checkpointDir, 'config.json'), 'utf8')) as OlmoeConfig;
  if (config.model_type !== 'olmoe') throw new Error(`GGUF writer handles olmoe checkpoints, not ${config.model_type}`);
  const tensors = plan(config);
  const files = Object.fromEntries(types.map((t) => [t, path.join(outDir, `olmoe-${config.num_hidden_layers}l-${t}.gguf`)])) as Record<GgufFileType, string>;
  const done = `${outDir}/.gguf-complete`;
  const complete = new Set(fs.existsSync(done) ? fs.readFileSync(done, 'utf8').split('\n') : []);
  const todo = types.filter((t) => !complete.has(files[t]) || !fs.existsSync(files[t]));
  if (todo.length === 0) return files;
  fs.mkdirSync(outDir, { recursive: true });
  const weights = openCheckpointWeights(checkpointDir);
  const writers = todo.map((type) => new GgufWriter(files[type], metadata(config, type, `MoTE bench OLMoE-shaped random (${config.num_hidden_layers} layers)`),
    tensors.map((t) => t.info(type))));
  for (const t of tensors) {
    const name = t.info('F32').name;
    for (const source of t.sources) {
      const values = weights.read(source);
      for (const w of writers) w.writeTensor(name, values);
    }
  }
  for (const w of writers) w.close();
  fs.appendFileSync(done, todo.map((t) => files[t]).join('\n') + '\n');
  return files;
}
