import type { ModelSpec } from '../spec.ts';
import type { WeightSource } from '../weights.ts';
import type { GraphBuilder } from './graph.ts';

/** What the parts of one graph build share. */
export interface BuildContext {
  g: GraphBuilder;
  spec: ModelSpec;
  weights: WeightSource;
  /** An int64 constant vector. */
  ints: (values: number[]) => string;
  /** A float scalar constant (one initializer per value). */
  scalar: (value: number) => string;
}

/** Stands in for ±infinity in selection keys and masked logits; finite so that no arithmetic makes NaN. */
export const BIG = 1e9;
