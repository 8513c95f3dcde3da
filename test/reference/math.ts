/** A row-major [rows, cols] float64 matrix (a PyTorch Linear weight is [out, in]). */
export interface Matrix {
  data: Float64Array;
  rows: number;
  cols: number;
}

/** W · x, i.e. x @ W.T for a Linear weight. */
export function matVec(matrix: Matrix, x: Float64Array): Float64Array {
  if (x.length !== matrix.cols) throw new Error(`matVec: [${matrix.rows}, ${matrix.cols}] · [${x.length}]`);
  const out = new Float64Array(matrix.rows);
  for (let r = 0; r < matrix.rows; r++) {
    let sum = 0;
    const base = r * matrix.cols;
    for (let c = 0; c < matrix.cols; c++) sum += matrix.data[base + c] * x[c];
    out[r] = sum;
  }
  return out;
}

export function dot(a: Float64Array, b: Float64Array, bOffset = 0): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[bOffset + i];
  return sum;
}

/** x · rsqrt(mean(x²) + eps) · weight, over `x[offset .. offset + weight.length)`. */
export function rmsNorm(x: Float64Array, weight: Float64Array, eps: number, offset = 0): Float64Array {
  let sumOfSquares = 0;
  for (let i = 0; i < weight.length; i++) sumOfSquares += x[offset + i] ** 2;
  const scale = 1 / Math.sqrt(sumOfSquares / weight.length + eps);
  return weight.map((w, i) => x[offset + i] * scale * w);
}

/** (x − mean) · rsqrt(variance + eps) · weight + bias, as torch.nn.LayerNorm (biased variance). */
export function layerNorm(x: Float64Array, weight: Float64Array, bias: Float64Array, eps: number): Float64Array {
  const mean = x.reduce((sum, v) => sum + v, 0) / x.length;
  const variance = x.reduce((sum, v) => sum + (v - mean) ** 2, 0) / x.length;
  const scale = 1 / Math.sqrt(variance + eps);
  return weight.map((w, i) => (x[i] - mean) * scale * w + bias[i]);
}

export function softmax(values: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(values);
  const max = Math.max(...out);
  let sum = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = Math.exp(out[i] - max);
    sum += out[i];
  }
  return out.map((v) => v / sum);
}

export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** First index of the largest value, as torch.argmax. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** The transpose of a matrix: a [in, out] stored weight as the [out, in] a Linear layer holds. */
export function transpose(matrix: Matrix): Matrix {
  const data = new Float64Array(matrix.data.length);
  for (let r = 0; r < matrix.rows; r++) {
    for (let c = 0; c < matrix.cols; c++) data[c * matrix.rows + r] = matrix.data[r * matrix.cols + c];
  }
  return { data, rows: matrix.cols, cols: matrix.rows };
}

/** `target += scale · addend`, in place. */
export function addScaled(target: Float64Array, addend: Float64Array, scale = 1): void {
  for (let i = 0; i < target.length; i++) target[i] += scale * addend[i];
}
