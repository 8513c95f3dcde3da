import type { WeightSource } from '../../engine/model/weights.ts';
import { addScaled, matVec, transpose, type Matrix } from './math.ts';
import { decodeMxfp4 } from './mxfp4.ts';

/** How a stacked [E, a, b] expert tensor holds each expert's matrix: as a Linear weight [out, in], or as [in, out]. */
export type StackedOrder = 'out-in' | 'in-out';

/** Checkpoint tensors widened to float64 once per forward pass. */
export class WideWeights {
  private readonly source: WeightSource;
  private readonly widened = new Map<string, Float64Array>();
  private readonly stacks = new Map<string, Matrix[]>();

  constructor(source: WeightSource) {
    this.source = source;
  }

  has(name: string): boolean {
    return this.source.has(name);
  }

  /** A whole tensor by its own name, row-major. */
  tensor(name: string): Float64Array {
    let values = this.widened.get(name);
    if (!values) {
      values = Float64Array.from(this.source.read(name));
      this.widened.set(name, values);
    }
    return values;
  }

  matrix(module: string): Matrix {
    const name = `${module}.weight`;
    const shape = this.source.shape(name);
    if (shape.length !== 2) throw new Error(`${name}: expected a matrix, shape is [${shape}]`);
    return { data: this.tensor(name), rows: shape[0], cols: shape[1] };
  }

  vector(module: string): Float64Array {
    const name = `${module}.weight`;
    const shape = this.source.shape(name);
    if (shape.length !== 1) throw new Error(`${name}: expected a vector, shape is [${shape}]`);
    return this.tensor(name);
  }

  bias(module: string): Float64Array | undefined {
    const name = `${module}.bias`;
    return this.source.has(name) ? this.tensor(name) : undefined;
  }

  /** Row `index` of a 2-D tensor, e.g. one expert's bias of gpt-oss's [E, 2I] gate_up_proj_bias. */
  row(name: string, index: number): Float64Array {
    const [rows, cols] = this.source.shape(name);
    if (!(index >= 0 && index < rows)) throw new Error(`${name}: no row ${index} of ${rows}`);
    return this.tensor(name).subarray(index * cols, (index + 1) * cols);
  }

  /**
   * Expert `expert`'s [out, in] matrix from a stacked [E, …] tensor, or from its MXFP4 form (`name`_blocks
   * [E, out, in/32, 16] + `name`_scales [E, out, in/32], which holds [out, in] whatever `order` the dense tensor has).
   */
  expertMatrix(name: string, expert: number, order: StackedOrder): Matrix {
    let stack = this.stacks.get(name);
    if (!stack) {
      stack = this.source.has(`${name}_blocks`) ? this.mxfp4Stack(name) : this.denseStack(name, order);
      this.stacks.set(name, stack);
    }
    if (!(expert >= 0 && expert < stack.length)) throw new Error(`${name}: no expert ${expert} of ${stack.length}`);
    return stack[expert];
  }

  private denseStack(name: string, order: StackedOrder): Matrix[] {
    const shape = this.source.shape(name);
    if (shape.length !== 3) throw new Error(`${name}: expected stacked [experts, a, b], shape is [${shape}]`);
    const [experts, rows, cols] = shape;
    const values = this.tensor(name);
    return Array.from({ length: experts }, (_, e) => {
      const stored = { data: values.subarray(e * rows * cols, (e + 1) * rows * cols), rows, cols };
      return order === 'out-in' ? stored : transpose(stored);
    });
  }

  private mxfp4Stack(name: string): Matrix[] {
    const blocksShape = this.source.shape(`${name}_blocks`);
    const scalesShape = this.source.shape(`${name}_scales`);
    const [experts, rows, groups, bytes] = blocksShape;
    if (blocksShape.length !== 4 || bytes !== 16 || `${scalesShape}` !== `${[experts, rows, groups]}`) {
      throw new Error(`${name}: MXFP4 blocks [${blocksShape}] and scales [${scalesShape}] do not match`);
    }
    const values = decodeMxfp4(this.source.readBytes(`${name}_blocks`), this.source.readBytes(`${name}_scales`));
    const cols = groups * 32;
    return Array.from({ length: experts }, (_, e) => ({ data: values.subarray(e * rows * cols, (e + 1) * rows * cols), rows, cols }));
  }
}

/** A Linear layer; the bias is used when the checkpoint has one (Qwen2's q/k/v, attention_bias, PhiMoE's lm_head). */
export function linear(tensors: WideWeights, module: string, x: Float64Array): Float64Array {
  const y = matVec(tensors.matrix(module), x);
  const bias = tensors.bias(module);
  if (bias) addScaled(y, bias);
  return y;
}
