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

export type ElemType = 'float' | 'int64' | 'bool';
const ELEM: Record<ElemType, number> = { float: DT.FLOAT, int64: DT.INT64, bool: DT.BOOL };

/** Attribute values: integers become INT(S); wrap a number with `float()` to make it a FLOAT attribute. */
export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };
export const float = (value: number) => ({ float: value });

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  if (typeof v === 'string') return { name, type: AT.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') return { name, type: AT.INT, i: v };
  if (Array.isArray(v)) return { name, type: AT.INTS, ints: v };
  if ('float' in v) return { name, type: AT.FLOAT, f: v.float };
  return { name, type: AT.FLOATS, floats: v.floats };
}

/**
 * The large float32 weights of a checkpoint, streamed once to one external data file that every graph variant built
 * from it references. Each weight is written on first use; later uses return the same tensor without reading it.
 */
export class ExternalWeights {
  private readonly fd: number;
  private readonly tensors = new Map<string, onnxProto.onnx.ITensorProto>();
  private offset = 0;

  constructor(dataFile: string, private readonly dataLocation: string) {
    this.fd = fs.openSync(dataFile, 'w');
  }

  /** `chunks` is only called the first time a name is seen, and its chunks are written one at a time. */
  tensor(name: string, dims: number[], chunks: () => Iterable<Float32Array>): onnxProto.onnx.ITensorProto {
    const known = this.tensors.get(name);
    if (known) return known;
    const expected = dims.reduce((a, d) => a * d, 1);
    let tensor: onnxProto.onnx.ITensorProto;
    if (expected * 4 < EXTERNAL_MIN_BYTES) {
      const parts = [...chunks()];
      checkCount(name, dims, parts.reduce((a, c) => a + c.length, 0), expected);
      const data = new Float32Array(expected);
      let at = 0;
      for (const c of parts) {
        data.set(c, at);
        at += c.length;
      }
      tensor = { name, dataType: DT.FLOAT, dims, rawData: new Uint8Array(data.buffer) };
    } else {
      const start = Math.ceil(this.offset / EXTERNAL_ALIGN) * EXTERNAL_ALIGN;
      let at = start;
      for (const c of chunks()) {
        const bytes = new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
        let written = 0;
        while (written < bytes.length) written += fs.writeSync(this.fd, bytes, written, bytes.length - written, at + written);
        at += bytes.length;
      }
      checkCount(name, dims, (at - start) / 4, expected);
      this.offset = at;
      tensor = {
        name,
        dataType: DT.FLOAT,
        dims,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: this.dataLocation },
          { key: 'offset', value: String(start) },
          { key: 'length', value: String(expected * 4) },
        ],
      };
    }
    this.tensors.set(name, tensor);
    return tensor;
  }

  close(): void {
    fs.closeSync(this.fd);
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
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
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

  /** A float32 weight given as consecutive chunks (so a fused tensor never has to exist whole in memory). */
  weight(name: string, dims: number[], chunks: () => Iterable<Float32Array>): string {
    if (!this.weightNames.has(name)) {
      this.weightNames.add(name);
      this.initializers.push(this.weights.tensor(name, dims, chunks));
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
        node: this.nodes.map((n) => ({ ...n, input: n.input!.map(rename), output: n.output!.map(rename) })),
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
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
