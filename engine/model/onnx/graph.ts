import crypto from 'node:crypto';
import fs from 'node:fs';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;

export const OPSET = 18;
/** Tensors at least this large go to the external data file; smaller ones stay inline in the model. */
const EXTERNAL_MIN_BYTES = 1024;
/** ORT maps external data; 64 KiB-aligned offsets let it map each tensor in place. */
const EXTERNAL_ALIGN = 64 * 1024;

export type ElemType = 'float' | 'int64' | 'bool' | 'uint8' | 'float16';
const ELEM: Record<ElemType, number> = { float: DT.FLOAT, int64: DT.INT64, bool: DT.BOOL, uint8: DT.UINT8, float16: DT.FLOAT16 };

/**
 * Element types a stored weight may have, and the typed array its chunks come in: float16 values are their IEEE
 * half bits (engine/model/onnx/quantize.ts converts), uint8 holds quantised data (packed nibbles for 4-bit).
 */
export interface WeightArrays {
  float: Float32Array;
  float16: Uint16Array;
  uint8: Uint8Array;
}
export type WeightType = keyof WeightArrays;
const WEIGHT_ARRAY: { [T in WeightType]: { BYTES_PER_ELEMENT: number; new (n: number): WeightArrays[T] } } = {
  float: Float32Array,
  float16: Uint16Array,
  uint8: Uint8Array,
};

/** Attribute values: integers become INT(S); wrap a number with `float()` to make it a FLOAT attribute. */
export type AttrValue = number | number[] | string | { float: number } | { floats: number[] } | { graph: onnxProto.onnx.IGraphProto };
export const float = (value: number) => ({ float: value });

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  if (typeof v === 'string') return { name, type: AT.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') return { name, type: AT.INT, i: v };
  if (Array.isArray(v)) return { name, type: AT.INTS, ints: v };
  if ('float' in v) return { name, type: AT.FLOAT, f: v.float };
  if ('graph' in v) return { name, type: AT.GRAPH, g: v.graph };
  return { name, type: AT.FLOATS, floats: v.floats };
}

/** A file's size and SHA-256 (hex), as written. */
export interface FileDigest {
  bytes: number;
  sha256: string;
}

const ALIGN_ZEROS = new Uint8Array(EXTERNAL_ALIGN);

/**
 * The large weights of a checkpoint, streamed once to one external data file that every graph variant built from it
 * references. Each weight is written on first use; later uses return the same tensor without reading it. The file
 * is hashed as it is written (alignment gaps read back as zeros); close() syncs it to disk and returns its digest.
 */
export class ExternalWeights {
  private readonly fd: number;
  private readonly tensors = new Map<string, onnxProto.onnx.ITensorProto>();
  private offset = 0;
  private hash: crypto.Hash | null = crypto.createHash('sha256');

  constructor(dataFile: string, private readonly dataLocation: string) {
    this.fd = fs.openSync(dataFile, 'w');
  }

  /**
   * `chunks` is only called the first time a name is seen, and its chunks are written one at a time. Each chunk is a
   * typed array of the element type (`WeightArrays`): float32 unless `type` says otherwise.
   */
  tensor<T extends WeightType = 'float'>(name: string, dims: number[], chunks: () => Iterable<WeightArrays[T]>,
    type: T = 'float' as T): onnxProto.onnx.ITensorProto {
    const known = this.tensors.get(name);
    if (known) return known;
    const elementBytes = WEIGHT_ARRAY[type].BYTES_PER_ELEMENT;
    const expected = dims.reduce((a, d) => a * d, 1);
    const bytesOf = (c: WeightArrays[T]) => {
      if (!(c instanceof WEIGHT_ARRAY[type])) throw new Error(`internal: weight ${name} (${type}) got a chunk of ${c.constructor.name}`);
      return new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
    };
    let tensor: onnxProto.onnx.ITensorProto;
    if (expected * elementBytes < EXTERNAL_MIN_BYTES) {
      const parts = [...chunks()].map(bytesOf);
      checkCount(name, dims, parts.reduce((a, c) => a + c.length, 0) / elementBytes, expected);
      const data = new Uint8Array(expected * elementBytes);
      let at = 0;
      for (const c of parts) {
        data.set(c, at);
        at += c.length;
      }
      tensor = { name, dataType: ELEM[type], dims, rawData: data };
    } else {
      const start = Math.ceil(this.offset / EXTERNAL_ALIGN) * EXTERNAL_ALIGN;
      let at = start;
      // Put back only when the weight is complete: a failed one leaves bytes that the next weight overwrites.
      const hash = this.hash;
      this.hash = null;
      hash?.update(ALIGN_ZEROS.subarray(0, start - this.offset));
      for (const c of chunks()) {
        const bytes = bytesOf(c);
        let written = 0;
        while (written < bytes.length) written += fs.writeSync(this.fd, bytes, written, bytes.length - written, at + written);
        hash?.update(bytes);
        at += bytes.length;
      }
      checkCount(name, dims, (at - start) / elementBytes, expected);
      this.offset = at;
      this.hash = hash;
      tensor = {
        name,
        dataType: ELEM[type],
        dims,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: this.dataLocation },
          { key: 'offset', value: String(start) },
          { key: 'length', value: String(expected * elementBytes) },
        ],
      };
    }
    this.tensors.set(name, tensor);
    return tensor;
  }

  /** Syncs and closes the file; returns its digest, or null when a failed weight left bytes the hash does not describe. */
  close(): FileDigest | null {
    try {
      fs.fsyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
    }
    return this.hash && { bytes: this.offset, sha256: this.hash.digest('hex') };
  }
}

function checkCount(name: string, dims: number[], count: number, expected: number): void {
  if (count !== expected) throw new Error(`internal: weight ${name} has ${count} values for dims ${JSON.stringify(dims)}`);
}

/**
 * Builds one ONNX graph. Nodes are added in topological order by construction: an op's inputs are names returned
 * by earlier calls. Weights come from an ExternalWeights store, which graphs built from one checkpoint share.
 */
export class GraphBuilder {
  private nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly weightNames = new Set<string>();
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputRenames = new Map<string, string>();
  private counter = 0;

  constructor(private readonly weights: ExternalWeights) {}

  private fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  input(name: string, type: ElemType, dims: (number | string)[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  output(name: string, type: ElemType, dims: (number | string)[]): void {
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** A small constant (inline). */
  constFloat(values: number[] | Float32Array, dims: number[] = [values.length]): string {
    const name = this.fresh('const');
    this.initializers.push({ name, dataType: DT.FLOAT, dims, floatData: Array.from(values) });
    return name;
  }

  constInt(values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh('const');
    this.initializers.push({ name, dataType: DT.INT64, dims, int64Data: values });
    return name;
  }

  /**
   * A weight given as consecutive chunks (so a fused tensor never has to exist whole in memory); float32 unless
   * `type` says otherwise (see ExternalWeights.tensor).
   */
  weight<T extends WeightType = 'float'>(name: string, dims: number[], chunks: () => Iterable<WeightArrays[T]>,
    type: T = 'float' as T): string {
    if (!this.weightNames.has(name)) {
      this.weightNames.add(name);
      this.initializers.push(this.weights.tensor(name, dims, chunks, type));
    }
    return name;
  }

  /** Adds a node; returns its output names. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, options: { outputs?: number; domain?: string } = {}): string[] {
    const outputs = Array.from({ length: options.outputs ?? 1 }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push({
      opType,
      domain: options.domain ?? '',
      name: this.fresh(`n_${opType}`),
      input: inputs,
      output: outputs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outputs;
  }

  /**
   * If(cond) with branches built by `then` and `otherwise`, each returning its outputs (same count and element
   * types, in order). Branch nodes may read any value and weight of the enclosing graph; constants they create are
   * the enclosing graph's initializers. Returns the If's outputs.
   */
  ifElse(cond: string, types: ElemType[], then: () => string[], otherwise: () => string[]): string[] {
    const branch = (build: () => string[], label: string): onnxProto.onnx.IGraphProto => {
      const outer = this.nodes;
      this.nodes = [];
      try {
        const values = build();
        if (values.length !== types.length) throw new Error(`internal: If branch ${label} has ${values.length} outputs, expected ${types.length}`);
        // A branch output must be produced inside the branch: pass outer values through an Identity.
        const produced = new Set(this.nodes.flatMap((n) => n.output!));
        const outputs = values.map((v) => (produced.has(v) ? v : this.op1('Identity', [v])));
        return {
          name: this.fresh(label),
          node: this.nodes,
          output: outputs.map((name, i) => ({ name, type: { tensorType: { elemType: ELEM[types[i]] } } })),
        };
      } finally {
        this.nodes = outer;
      }
    };
    const thenBranch = branch(then, 'then');
    const elseBranch = branch(otherwise, 'else');
    return this.op('If', [cond], { then_branch: { graph: thenBranch }, else_branch: { graph: elseBranch } }, { outputs: types.length });
  }

  /** Single-output op. */
  op1(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, domain?: string): string {
    return this.op(opType, inputs, attrs, { domain })[0];
  }

  /**
   * Makes a node's output a graph output called `name`. The value is renamed when the model is serialised (no
   * Identity copy), so later ops may still use `value`.
   */
  bindOutput(value: string, name: string, type: ElemType, dims: (number | string)[]): void {
    if (this.outputRenames.has(value)) throw new Error(`internal: ${value} is already graph output ${this.outputRenames.get(value)}`);
    this.outputRenames.set(value, name);
    this.output(name, type, dims);
  }

  /** Serialises the model; its external weights stay in the shared store. */
  finish(modelName: string): Uint8Array {
    const rename = (value: string) => this.outputRenames.get(value) ?? value;
    const produced = new Set(this.nodes.flatMap((n) => n.output!));
    for (const value of this.outputRenames.keys()) if (!produced.has(value)) throw new Error(`internal: graph output ${value} is not produced by a node`);
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'mote-studio',
      opsetImport: [{ domain: '', version: OPSET }, { domain: 'com.microsoft', version: 1 }],
      graph: {
        name: modelName,
        node: renameValues(this.nodes, rename),
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/** Nodes with values renamed, inside If branches too (they may read renamed values of the enclosing graph). */
function renameValues(nodes: onnxProto.onnx.INodeProto[], rename: (value: string) => string): onnxProto.onnx.INodeProto[] {
  return nodes.map((n) => ({
    ...n,
    input: n.input!.map(rename),
    output: n.output!.map(rename),
    attribute: n.attribute!.map((a) => (a.g ? { ...a, g: { ...a.g, node: renameValues(a.g.node!, rename) } } : a)),
  }));
}

function valueInfo(name: string, type: ElemType, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
