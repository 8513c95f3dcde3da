import ort from 'onnxruntime-node';
import { MLAS_Q4_MOE_ENV } from '../model/onnx/quantize.ts';

// QMoE's fast int4 path (MLAS Q4 GEMM, ~25× faster on CPU) is read from the environment when a session is created;
// the engine's int4 experts are quantised so that it is exact for them (engine/model/onnx/quantize.ts).
process.env[MLAS_Q4_MOE_ENV] = '1';

/** The one module that touches onnxruntime-node. Tensors cross its boundary as plain typed arrays with dims. */
export type HostTensor =
  | { type: 'float32'; data: Float32Array; dims: number[] }
  | { type: 'int64'; data: BigInt64Array; dims: number[] }
  | { type: 'bool'; data: Uint8Array; dims: number[] };

export interface SessionOptions {
  /** Intra-op threads; 0 lets onnxruntime choose. */
  threads: number;
}

export class OrtSession {
  private constructor(private readonly session: ort.InferenceSession, readonly modelPath: string) {}

  static async create(modelPath: string, options: SessionOptions): Promise<OrtSession> {
    const session = await ort.InferenceSession.create(modelPath, {
      executionProviders: ['cpu'],
      intraOpNumThreads: options.threads,
      interOpNumThreads: 1,
      // The arena keeps a step's buffers for the next one. Off, every decode step allocated its KV-cache concat and
      // activations afresh and page-faulted them in: 4-layer OLMoE-shaped int4, 1 thread, decode 14.9 → 22.4 tok/s and
      // prefill 103 → 173 tok/s with it (Concat 9.6 → 1.1 ms a token). What it keeps is the largest step's workspace,
      // which the memory estimate already counts. (DESIGN §3's crash with the arena is inside Electron's processes;
      // the engine runs in its own Node process.)
      enableCpuMemArena: true,
      graphOptimizationLevel: 'all',
    });
    return new OrtSession(session, modelPath);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(feeds: Record<string, HostTensor>, outputs?: string[]): Promise<Record<string, HostTensor>> {
    const missing = this.session.inputNames.filter((n) => !(n in feeds));
    const unknown = Object.keys(feeds).filter((n) => !this.session.inputNames.includes(n));
    if (missing.length || unknown.length) {
      throw new Error(`${this.modelPath}: inputs do not match the graph (missing: ${missing.join(', ') || 'none'}; unexpected: ${unknown.join(', ') || 'none'})`);
    }
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = outputs ? await this.session.run(ortFeeds, outputs) : await this.session.run(ortFeeds);
    } catch (err) {
      const described = Object.entries(feeds).map(([n, t]) => `${n}: ${t.type}[${t.dims.join(', ')}]`).join('; ');
      throw new Error(`${this.modelPath}: onnxruntime failed (${(err as Error).message}); inputs were ${described}`);
    }
    const out: Record<string, HostTensor> = {};
    for (const [name, value] of Object.entries(result)) {
      const t = value as ort.Tensor;
      out[name] = { type: t.type as HostTensor['type'], data: t.data, dims: [...t.dims] } as HostTensor;
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
