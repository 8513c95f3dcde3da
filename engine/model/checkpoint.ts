import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigReader } from './config-reader.ts';
import type { FamilyDescriptor } from './families/family.ts';
import { familyFor } from './families/registry.ts';
import { readJsonText, SafetensorsCheckpoint } from './safetensors.ts';
import { moeLayerIndices, type ModelSpec } from './spec.ts';

/** A checkpoint folder opened for building: its config, family, architecture and tensors. */
export interface Checkpoint {
  dir: string;
  config: Record<string, unknown>;
  family: FamilyDescriptor;
  spec: ModelSpec;
  weights: SafetensorsCheckpoint;
  /** Identifies the checkpoint's content (config and tensor data); masks and graph caches are keyed by it. */
  contentHash: string;
}

export function readJsonFile(file: string): Record<string, unknown> {
  const text = readJsonText(file);
  try {
    const value = JSON.parse(text);
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('expected a JSON object');
    return value;
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

export function openCheckpoint(dir: string): Checkpoint {
  const absolute = path.resolve(dir);
  if (!fs.existsSync(absolute)) throw new Error(`${absolute} does not exist`);
  if (!fs.statSync(absolute).isDirectory()) throw new Error(`${absolute}: not a checkpoint folder (a file; expected a Hugging Face model folder)`);
  const configFile = path.join(absolute, 'config.json');
  if (!fs.existsSync(configFile)) throw new Error(`${absolute}: not a checkpoint folder (no config.json; expected a Hugging Face model folder)`);
  const config = readJsonFile(configFile);
  const family = familyFor(config['model_type'], configFile);
  const weights = new SafetensorsCheckpoint(absolute);
  checkLayerCount(config, weights, configFile);
  const spec = family.spec(new ConfigReader(configFile, config));
  validateSpec(spec, configFile);
  checkSizes(family, spec, weights, configFile);
  return { dir: absolute, config, family, spec, weights, contentHash: contentHash(configFile, weights.files) };
}

/**
 * num_hidden_layers against the layers the tensors hold (every family names them model.layers.<i>.…), before the
 * family's spec allocates anything per layer. Extra layers in the files are allowed (DeepSeek-V3 ships its MTP
 * layer after the last decoder layer). An invalid value is left for the family's ConfigReader to report.
 */
function checkLayerCount(config: Record<string, unknown>, weights: SafetensorsCheckpoint, configFile: string): void {
  const claimed = config['num_hidden_layers'];
  if (!Number.isSafeInteger(claimed) || (claimed as number) < 0) return;
  const present = new Set<number>();
  for (const name of weights.names()) {
    const layer = /^model\.layers\.(\d+)\./.exec(name);
    if (layer) present.add(Number(layer[1]));
  }
  const files = `the weights (${weights.files.map((f) => path.basename(f)).join(', ')})`;
  if ((claimed as number) > present.size) {
    throw new Error(`${configFile}: num_hidden_layers ${claimed}, but ${files} hold tensors of ${present.size} layers`);
  }
  for (let i = 0; i < (claimed as number); i++) {
    if (!present.has(i)) throw new Error(`${configFile}: num_hidden_layers ${claimed}, but ${files} hold no tensor of layer ${i} (model.layers.${i}.…)`);
  }
}

function validateSpec(spec: ModelSpec, configFile: string): void {
  const problems: string[] = [];
  if (spec.numHeads % spec.numKvHeads !== 0) problems.push(`num_attention_heads ${spec.numHeads} is not a multiple of num_key_value_heads ${spec.numKvHeads}`);
  if (!Number.isInteger(spec.headDim) || spec.headDim % 2 !== 0) problems.push(`head dimension ${spec.headDim} must be an even integer`);
  if (moeLayerIndices(spec).length > 0 && (spec.topK < 1 || spec.topK > spec.numExperts)) problems.push(`num_experts_per_tok ${spec.topK} must be between 1 and the number of experts ${spec.numExperts}`);
  if (problems.length) throw new Error(`${configFile}: ${problems.join('; ')}`);
}

/**
 * The sizes the engine allocates by before the graph build checks every tensor (vocabulary, hidden size, heads ×
 * head dimension, experts per MoE layer) against the tensors that carry them, so a config.json at odds with its
 * weights is refused when opened, `mote inspect` included.
 */
function checkSizes(family: FamilyDescriptor, spec: ModelSpec, weights: SafetensorsCheckpoint, configFile: string): void {
  const check = (name: string, dims: (number | null)[], because: string) => {
    const actual = weights.shape(name);
    if (actual.length !== dims.length || dims.some((d, i) => d !== null && d !== actual[i])) {
      const wanted = `[${dims.map((d) => d ?? '·').join(', ')}]`;
      throw new Error(`${configFile}: ${because} give ${name} the shape ${wanted}, but ${path.basename(weights.fileOf(name))} holds ${JSON.stringify(actual)}`);
    }
  };
  check(family.globalWeights(spec).embed, [spec.vocabSize, spec.hiddenSize], `vocab_size ${spec.vocabSize} and hidden_size ${spec.hiddenSize}`);
  for (let layer = 0; layer < spec.numLayers; layer++) {
    const names = family.layerWeights(spec, layer);
    if (layer === 0) {
      const query = names.q ?? names.mla?.q ?? names.mla?.qB;
      if (query) check(query, [spec.numHeads * spec.headDim, null], `${spec.numHeads} attention heads of ${spec.headDim}`);
    }
    if (spec.moeLayers[layer] && names.router) check(names.router, [spec.numExperts, spec.hiddenSize], `${spec.numExperts} experts and hidden_size ${spec.hiddenSize}`);
  }
}

/** Samples per file hashed besides its header; whole-file hashing would take minutes on real checkpoints. */
const HASH_SAMPLES = 16;
const HASH_SAMPLE_BYTES = 1 << 20;

function contentHash(configFile: string, files: string[]): string {
  const hash = crypto.createHash('sha256');
  hash.update(fs.readFileSync(configFile));
  const buf = Buffer.alloc(HASH_SAMPLE_BYTES);
  for (const file of files) {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      hash.update(`${path.basename(file)}:${size}`);
      const stride = Math.max(HASH_SAMPLE_BYTES, Math.floor(size / HASH_SAMPLES));
      for (let at = 0; at < size; at += stride) hash.update(buf.subarray(0, fs.readSync(fd, buf, 0, HASH_SAMPLE_BYTES, at)));
    } finally {
      fs.closeSync(fd);
    }
  }
  return hash.digest('hex').slice(0, 32);
}

/**
 * Parameters by how the graph stores them (what a precision applies to): the embedding table, the LM head (0 when
 * tied), routed experts (with their biases), routers (kept float32), the other matrices (attention, dense and
 * shared-expert MLPs), and vectors (norms, biases outside the experts, sinks).
 */
export interface ParameterClasses {
  embedding: number;
  lmHead: number;
  experts: number;
  routers: number;
  matrices: number;
  vectors: number;
}

export function parameterClasses(spec: ModelSpec): ParameterClasses {
  const H = spec.hiddenSize;
  const E = spec.numExperts;
  const heads = spec.numHeads;
  let attention: number;
  if (spec.mla) {
    const { qLoraRank, kvLoraRank, qkNopeHeadDim, qkRopeHeadDim } = spec.mla;
    const qRows = heads * spec.headDim;
    attention = (qLoraRank === null ? qRows * H : qLoraRank * H + qRows * qLoraRank)
      + (kvLoraRank + qkRopeHeadDim) * H + heads * (qkNopeHeadDim + spec.valueHeadDim) * kvLoraRank
      + H * heads * spec.valueHeadDim;
  } else {
    attention = H * heads * spec.headDim * 2 + H * spec.numKvHeads * spec.headDim * 2;
  }
  const normVectors = (spec.norm === 'layer' ? 2 : 1) * 2 * H;
  const expert = 3 * H * spec.moeIntermediateSize + (spec.family === 'gpt_oss' ? 2 * spec.moeIntermediateSize + H : 0);
  const counts: ParameterClasses = {
    embedding: spec.vocabSize * H,
    lmHead: spec.tieWordEmbeddings ? 0 : spec.vocabSize * H,
    experts: 0, routers: 0, matrices: 0,
    vectors: (spec.norm === 'layer' ? 2 : 1) * H + (spec.lmHeadBias ? spec.vocabSize : 0),
  };
  for (const isMoe of spec.moeLayers) {
    counts.matrices += attention;
    counts.vectors += normVectors;
    if (isMoe) {
      counts.experts += E * expert;
      counts.routers += E * H;
      if (spec.sharedExpertIntermediateSize) counts.matrices += 3 * H * spec.sharedExpertIntermediateSize + (spec.sharedExpertGate ? H : 0);
    } else {
      counts.matrices += 3 * H * spec.denseIntermediateSize;
    }
  }
  return counts;
}

/** Total parameters, and those one token uses (k of the routed experts). */
export function parameterCount(spec: ModelSpec): { total: number; activePerToken: number } {
  const c = parameterClasses(spec);
  const total = c.embedding + c.lmHead + c.experts + c.routers + c.matrices + c.vectors;
  const moeLayers = spec.moeLayers.filter(Boolean).length;
  const unusedExperts = moeLayers === 0 ? 0 : (c.experts / moeLayers / spec.numExperts) * (spec.numExperts - spec.topK) * moeLayers;
  return { total, activePerToken: total - unusedExperts };
}
