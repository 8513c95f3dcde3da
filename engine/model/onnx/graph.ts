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
 * Builds one ONNX graph. Nodes are added in topological order by construction: an op's inputs are names returned
 * by earlier calls. Large initialisers are streamed to an external data file as they are added.
 */
export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly fd: number;
  private offset = 0;
  private counter = 0;

  constructor(dataFile: string, private readonly dataLocation: string) {
    this.fd = fs.openSync(dataFile, 'w');
  }

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
  weight(name: string, dims: number[], chunks: Iterable<Float32Array>): string {
    const expected = dims.reduce((a, d) => a * d, 1);
    const parts = [...chunks];
    const count = parts.reduce((a, c) => a + c.length, 0);
    if (count !== expected) throw new Error(`internal: weight ${name} has ${count} values for dims ${JSON.stringify(dims)}`);
    if (count * 4 < EXTERNAL_MIN_BYTES) {
      const data = new Float32Array(count);
      let at = 0;
      for (const p of parts) {
        data.set(p, at);
        at += p.length;
      }
      this.initializers.push({ name, dataType: DT.FLOAT, dims, rawData: new Uint8Array(data.buffer) });
      return name;
    }
    const start = Math.ceil(this.offset / EXTERNAL_ALIGN) * EXTERNAL_ALIGN;
    let at = start;
    for (const p of parts) {
      const bytes = new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
      let written = 0;
      while (written < bytes.length) written += fs.writeSync(this.fd, bytes, written, bytes.length - written, at + written);
      at += bytes.length;
    }
    this.offset = at;
    this.initializers.push({
      name,
      dataType: DT.FLOAT,
      dims,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: this.dataLocation },
        { key: 'offset', value: String(start) },
        { key: 'length', value: String(count * 4) },
      ],
    });
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

  /** Renames a value to a graph output name (Identity node). */
  bindOutput(value: string, name: string, type: ElemType, dims: (number | string)[]): void {
    this.nodes.push({ opType: 'Identity', domain: '', name: this.fresh('n_out'), input: [value], output: [name] });
    this.output(name, type, dims);
  }

  /** Closes the external data file without producing a model. */
  abandon(): void {
    fs.closeSync(this.fd);
  }

  /** Serialises the model and closes the external data file. */
  finish(modelName: string): Uint8Array {
    fs.closeSync(this.fd);
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'mote-studio',
      opsetImport: [{ domain: '', version: OPSET }, { domain: 'com.microsoft', version: 1 }],
      graph: {
        name: modelName,
        node: this.nodes,
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
