import { openCheckpoint, type Checkpoint } from '../model/checkpoint.ts';
import type { MemoryEstimate } from '../model/memory-estimate.ts';
import { GRAPH_IO } from '../model/onnx/build-graph.ts';
import { ensureGraphs } from '../model/onnx/graph-cache.ts';
import type { Precision } from '../model/precision.ts';
import { moeLayerIndices, routesInGraph, type ModelSpec } from '../model/spec.ts';
import type { ModelIdentity, PrecisionChoice } from '../protocol/types.ts';
import { modelIdentity } from '../steering/mask-file.ts';
import { EMPTY_MASK, type ExpertMask } from '../steering/mask.ts';
import { steeringTensors, type SteeringTensors } from '../steering/steering-tensors.ts';
import { planMemory, runContext } from './memory-guard.ts';
import { OrtSession, type HostTensor } from './ort-session.ts';
import { selectExperts } from './router-selection.ts';

export interface RunnerOptions {
  threads?: number;
  cacheDir?: string;
  /** Weight precision (default auto: the widest whose memory estimate fits). */
  precision?: PrecisionChoice;
  /** Longest sequence to run (default the model's context, at most DEFAULT_CONTEXT); the memory estimate's KV cache. */
  context?: number;
  /** Memory the guard may plan with (default: what the system has available). */
  availableMemory?: number;
  /** Capture routing (default). Off, unsteered steps run the plain graph: the benchmarks' baseline. */
  routing?: boolean;
  onBuildProgress?: (done: number, total: number) => void;
  /** Cancels a graph build in progress. */
  signal?: AbortSignal;
}

/** Routing of the tokens of one step. L = MoE layers in decoder order, T = tokens, E = experts. */
export interface StepRouting {
  /** Decoder-layer index of each MoE layer. */
  layers: number[];
  tokens: number;
  /** [L, T, E] */
  routerLogits: Float32Array;
  /** [L, T, k]; −1 where drop mode left a slot empty. */
  selected: Int32Array;
  /** [L, T, k]; 0 for empty slots. */
  weights: Float32Array;
}

/** Keys and values of every decoder layer for the tokens processed so far. */
export interface KvCache {
  length: number;
  keys: HostTensor[];
  values: HostTensor[];
}

export interface StepResult {
  /** [rows, vocab]: logits of the last `rows` positions of the step. */
  logits: Float32Array;
  rows: number;
  routing: StepRouting | null;
}

/**
 * One loaded checkpoint at one precision: runs steps over a KV cache under a steering mask, through one session over
 * the instrumented graph (unsteered and steered steps alike), so the weights are held once.
 */
export class ModelRunner {
  readonly moeLayers: number[];

  private constructor(readonly checkpoint: Checkpoint, private readonly session: OrtSession, readonly precision: Precision,
    readonly memory: MemoryEstimate, readonly routing: boolean, readonly fromCache: boolean) {
    this.moeLayers = moeLayerIndices(checkpoint.spec);
  }

  /**
   * Opens a checkpoint folder, or one already opened (so its content is hashed once). The memory guard resolves the
   * precision and refuses, before anything is built or loaded, a model that will not fit. The runner's spec carries
   * the context it runs with.
   */
  static async open(source: string | Checkpoint, options: RunnerOptions = {}): Promise<ModelRunner> {
    const opened = typeof source === 'string' ? openCheckpoint(source) : source;
    const context = runContext(opened.spec, options.context);
    const checkpoint = { ...opened, spec: { ...opened.spec, contextLength: context } };
    const routing = options.routing ?? true;
    const threads = options.threads ?? 0;
    const plan = planMemory(checkpoint.spec, options.precision ?? 'auto', context, { available: options.availableMemory, threads });
    const graphs = await ensureGraphs(checkpoint, plan.precision, options.cacheDir, { onProgress: options.onBuildProgress, signal: options.signal });
    const session = await OrtSession.create(graphs.modelPaths[routing ? 'instrumented' : 'plain'], { threads });
    return new ModelRunner(checkpoint, session, plan.precision, plan.estimate, routing, graphs.fromCache);
  }

  /** The model as masks, runs and evaluations record it, with the precision it runs at. */
  get identity(): ModelIdentity {
    return { ...modelIdentity(this.spec, this.checkpoint.contentHash), precision: this.precision };
  }

  get spec(): ModelSpec {
    return this.checkpoint.spec;
  }

  emptyCache(): KvCache {
    const { numKvHeads, headDim, valueHeadDim, numLayers } = this.spec;
    const empty = (dim: number) => (): HostTensor => ({ type: 'float32', data: new Float32Array(0), dims: [numKvHeads, 0, dim] });
    return { length: 0, keys: Array.from({ length: numLayers }, empty(headDim)), values: Array.from({ length: numLayers }, empty(valueHeadDim)) };
  }

  /** Validates a mask against this model; the result is what `step` takes. */
  steering(mask: ExpertMask = EMPTY_MASK, source?: string): SteeringTensors {
    return steeringTensors(this.spec, mask, source);
  }

  /**
   * Runs `ids` after the cached tokens and returns the cache extended by them. `logitRows` = how many of the last
   * positions get logits (1 while generating; ids.length to score every position).
   */
  async step(cache: KvCache, ids: number[], steering: SteeringTensors, logitRows = 1): Promise<{ result: StepResult; cache: KvCache }> {
    const spec = this.spec;
    if (ids.length === 0) throw new Error('step needs at least one token');
    if (cache.length + ids.length > spec.contextLength) {
      throw new Error(`sequence of ${cache.length + ids.length} tokens exceeds the model's context of ${spec.contextLength} tokens`);
    }
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= spec.vocabSize);
    if (bad !== undefined) throw new Error(`token id ${bad} is outside the vocabulary (0…${spec.vocabSize - 1})`);
    const rows = Math.min(Math.max(logitRows, 1), ids.length);
    const feeds: Record<string, HostTensor> = {
      [GRAPH_IO.inputIds]: { type: 'int64', data: BigInt64Array.from(ids, BigInt), dims: [ids.length] },
      [GRAPH_IO.positionIds]: { type: 'int64', data: BigInt64Array.from(ids, (_, i) => BigInt(cache.length + i)), dims: [ids.length] },
      [GRAPH_IO.logitsFrom]: { type: 'int64', data: BigInt64Array.of(BigInt(ids.length - rows)), dims: [1] },
    };
    for (let i = 0; i < spec.numLayers; i++) {
      feeds[GRAPH_IO.pastKey(i)] = cache.keys[i];
      feeds[GRAPH_IO.pastValue(i)] = cache.values[i];
    }
    if (steering.active && !this.routing) throw new Error('internal: a steered step on a runner opened without routing (the plain graph)');
    if (this.routing) {
      const dims = [this.moeLayers.length, spec.numExperts];
      feeds[GRAPH_IO.steeringActive] = { type: 'bool', data: Uint8Array.of(steering.active ? 1 : 0), dims: [] };
      feeds[GRAPH_IO.expertBias] = { type: 'float32', data: steering.bias, dims };
      feeds[GRAPH_IO.expertDropped] = { type: 'bool', data: steering.dropped, dims };
      feeds[GRAPH_IO.expertMaxWeight] = { type: 'bool', data: steering.maxWeight, dims };
    }
    const out = await this.session.run(feeds);
    const next: KvCache = {
      length: cache.length + ids.length,
      keys: Array.from({ length: spec.numLayers }, (_, i) => out[GRAPH_IO.presentKey(i)]),
      values: Array.from({ length: spec.numLayers }, (_, i) => out[GRAPH_IO.presentValue(i)]),
    };
    let routing: StepRouting | null = null;
    if (this.routing && this.moeLayers.length > 0) {
      const routerLogits = out[GRAPH_IO.routerLogits].data as Float32Array;
      routing = {
        layers: this.moeLayers,
        tokens: ids.length,
        routerLogits,
        ...(steering.active || routesInGraph(spec) ? {
          selected: Int32Array.from(out[GRAPH_IO.selectedExperts].data as BigInt64Array, Number),
          weights: out[GRAPH_IO.routingWeights].data as Float32Array,
        } : selectExperts(spec, routerLogits)),
      };
    }
    return { result: { logits: out[GRAPH_IO.logits].data as Float32Array, rows, routing }, cache: next };
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}
