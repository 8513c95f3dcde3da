import crypto from 'node:crypto';
import path from 'node:path';
import { readJsonFile } from '../model/checkpoint.ts';
import { ConfigReader } from '../model/config-reader.ts';
import { familyFor } from '../model/families/registry.ts';
import { moeLayerIndices } from '../model/spec.ts';
import type { ModelIdentity, RemoteModel } from '../protocol/types.ts';

/**
 * What a remote run knows of the served model, read from its config.json through the same family descriptors a
 * local checkpoint goes through (so DeepSeek's dense first layers, Qwen's sparse-step layers etc. are honoured).
 * Neither server reports these numbers: SGLang's /get_model_info gives paths and flags, vLLM's /v1/models the name
 * and context length, so the config is given with --config.
 */
export interface RemoteShape {
  architecture: string;
  /** num_hidden_layers: the layer axis of both servers' routed-experts arrays (dense layers included). */
  numHiddenLayers: number;
  /** Decoder-layer indices of the MoE layers, ascending. */
  moeLayers: number[];
  numExperts: number;
  topK: number;
}

export interface RemoteModelInfo {
  server: RemoteModel;
  shape: RemoteShape;
  /** Stands in for a checkpoint hash: the server, model name and config, so runs resume only on the same ones. */
  hash: string;
  /** The folder of the config file: where the app looks for tokenizer files to show token texts. */
  configDir: string;
  identity: ModelIdentity;
}

export function remoteModelInfo(server: RemoteModel, configFile: string): RemoteModelInfo {
  const file = path.resolve(configFile);
  return remoteModelFromConfig(server, readJsonFile(file), file, path.dirname(file));
}

/** As remoteModelInfo, from config.json already parsed; `source` names it in errors. */
export function remoteModelFromConfig(server: RemoteModel, config: Record<string, unknown>, source: string, configDir: string): RemoteModelInfo {
  const family = familyFor(config['model_type'], source);
  const spec = family.spec(new ConfigReader(source, config));
  const moeLayers = moeLayerIndices(spec);
  if (moeLayers.length === 0 || spec.numExperts < 1 || spec.topK < 1) throw new Error(`${source}: the config describes no MoE layers`);
  const shape: RemoteShape = { architecture: spec.modelType, numHiddenLayers: spec.numLayers, moeLayers, numExperts: spec.numExperts, topK: spec.topK };
  const hash = 'remote-' + crypto.createHash('sha256')
    .update(JSON.stringify({ backend: server.backend, url: server.url, modelId: server.modelId, config }))
    .digest('hex').slice(0, 40);
  return {
    server, shape, hash, configDir,
    identity: { architecture: shape.architecture, layers: shape.numHiddenLayers, experts: shape.numExperts, topK: shape.topK, checkpoint: hash, remote: server },
  };
}
