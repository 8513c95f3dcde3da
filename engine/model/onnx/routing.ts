import { MAX_FORCE_EPSILON } from '../../steering/mask.ts';
import { SELECTION_BIAS } from '../../steering/steering-tensors.ts';
import { BIG, type BuildContext } from './build-context.ts';

/** One MoE layer's rows of the steering inputs (engine/steering/steering-tensors.ts), each [E]. */
export interface LayerSteering {
  bias: string;
  dropped: string;
  maxWeight: string;
}

/** Per token: k slots of experts, their mixing weights (0 in empty slots) and whether each slot runs. */
export interface Routes {
  selected: string;
  weights: string;
  valid: string;
}

/**
 * The family's router rule (spec.router) applied to router logits z [T, E] in the graph, under a mask when
 * `steering` is given (DESIGN §5): forced experts take the first slots; backfill-off experts leave the candidates
 * before any selection step, group scores included; drop-off experts are selected as usual and then lose their slot.
 * Mixing weights follow the family's rule over the experts that run, forced ones at their own score or, in max
 * mode, as if their logit were the row's top logit + ε. `correctionBias` [E] (DeepSeek-V3) shifts selection only.
 */
export function routeInGraph(ctx: BuildContext, z: string, steering: LayerSteering | null, correctionBias?: string): Routes {
  const { g, spec } = ctx;
  // The logits the weights are computed from: forced experts raised in max mode.
  const raised = g.op1('Add', [g.op1('ReduceMax', [z, ctx.ints([-1])], { keepdims: 1 }), ctx.scalar(MAX_FORCE_EPSILON)]);
  const weightLogits = steering ? g.op1('Where', [steering.maxWeight, raised, z]) : z;
  const routes = spec.router.scoring === 'sparsemixer'
    ? sparsemixer(ctx, z, weightLogits, steering)
    : topK(ctx, z, weightLogits, steering, correctionBias);
  let weights = routes.weights;
  if (spec.normTopkProb && spec.router.scoring !== 'sparsemixer') {
    weights = g.op1('Div', [weights, g.op1('Add', [g.op1('ReduceSum', [weights, ctx.ints([-1])], { keepdims: 1 }), ctx.scalar(1e-20)])]);
  }
  if (spec.router.scaling !== 1) weights = g.op1('Mul', [weights, ctx.scalar(spec.router.scaling)]);
  return { ...routes, weights };
}

/** Softmax or sigmoid scores, top-k within the best groups when the family groups its experts. */
function topK(ctx: BuildContext, z: string, weightLogits: string, steering: LayerSteering | null, correctionBias?: string): Routes {
  const { g, spec } = ctx;
  const { scoring, groups } = spec.router;
  const scores = g.op1(scoring === 'softmax' ? 'Softmax' : 'Sigmoid', [weightLogits], scoring === 'softmax' ? { axis: -1 } : {});
  // Softmax is monotone in z, so selecting on z selects on p (group maxima included).
  let base = z;
  if (scoring === 'sigmoid') {
    base = g.op1('Sigmoid', [z]);
    if (correctionBias) base = g.op1('Add', [base, correctionBias]);
  }
  let key: string;
  if (groups) {
    const notCandidate = steering
      ? g.op1('Or', [g.op1('Greater', [steering.bias, ctx.scalar(SELECTION_BIAS / 2)]), g.op1('Less', [steering.bias, ctx.scalar(-SELECTION_BIAS / 2)])])
      : null;
    const candidates = notCandidate ? g.op1('Where', [notCandidate, ctx.scalar(-BIG), base]) : base;
    const grouped = g.op1('Reshape', [candidates, ctx.ints([0, groups.count, -1])]); // [T, G, E/G]
    let groupScores: string;
    if (groups.score === 'max') {
      groupScores = g.op1('ReduceMax', [grouped, ctx.ints([-1])], { keepdims: 0 });
    } else {
      // Sum of the two best candidates; a group left with one scores that one, with none it cannot be kept.
      const [best2] = g.op('TopK', [grouped, ctx.ints([2])], { axis: -1, largest: 1, sorted: 1 }, { outputs: 2 });
      const first = g.op1('Squeeze', [g.op1('Slice', [best2, ctx.ints([0]), ctx.ints([1]), ctx.ints([-1])]), ctx.ints([-1])]);
      const second = g.op1('Squeeze', [g.op1('Slice', [best2, ctx.ints([1]), ctx.ints([2]), ctx.ints([-1])]), ctx.ints([-1])]);
      groupScores = g.op1('Add', [first, g.op1('Where', [g.op1('Greater', [second, ctx.scalar(-BIG / 2)]), second, ctx.scalar(0)])]);
    }
    const [, keptGroups] = g.op('TopK', [groupScores, ctx.ints([groups.keep])], { axis: -1, largest: 1, sorted: 1 }, { outputs: 2 });
    const filled = (value: number, like: string) => g.op1('Expand', [ctx.scalar(value), g.op1('Shape', [like])]);
    const kept = g.op1('ScatterElements', [filled(0, groupScores), keptGroups, filled(1, keptGroups)], { axis: 1 });
    const keptPerExpert = g.op1('Reshape', [g.op1('Expand', [g.op1('Unsqueeze', [kept, ctx.ints([-1])]), g.op1('Shape', [grouped])]), g.op1('Shape', [z])]);
    key = g.op1('Where', [g.op1('Greater', [keptPerExpert, ctx.scalar(0.5)]), candidates, ctx.scalar(-BIG)]);
    if (steering) key = g.op1('Where', [g.op1('Greater', [steering.bias, ctx.scalar(SELECTION_BIAS / 2)]), g.op1('Add', [base, steering.bias]), key]);
  } else {
    // Forced experts first (+bias); backfill-off ones last (−bias), so the next-best experts take their slots.
    key = steering ? g.op1('Add', [base, steering.bias]) : base;
  }
  const [topValues, selected] = g.op('TopK', [key, ctx.ints([spec.topK])], { axis: -1, largest: 1, sorted: 1 }, { outputs: 2 });
  let valid = g.op1('Greater', [topValues, ctx.scalar(-SELECTION_BIAS / 2)]);
  if (steering) valid = g.op1('And', [valid, g.op1('Not', [g.op1('Gather', [steering.dropped, selected], { axis: 0 })])]);
  const weights = g.op1('Where', [valid, g.op1('GatherElements', [scores, selected], { axis: 1 }), ctx.scalar(0)]);
  return { selected, weights, valid };
}

/**
 * Phi-3.5-MoE's sparsemixer (eval), generalised slot by slot: slot j takes the best expert e of the pool (forced
 * first) and weighs it by the softmax over the pool without the experts i where (z_e − z_i) / max(|z_i|, z_e) >
 * 2·jitterEps; e then leaves the pool. Backfill-off experts are never in the pool.
 */
function sparsemixer(ctx: BuildContext, z: string, weightLogits: string, steering: LayerSteering | null): Routes {
  const { g, spec } = ctx;
  const key = steering ? g.op1('Add', [z, steering.bias]) : z;
  const everyExpert = g.op1('Cast', [g.op1('Expand', [ctx.scalar(1), g.op1('Shape', [z])])], { to: 9 }); // bool
  let pool = steering ? g.op1('And', [everyExpert, g.op1('Not', [g.op1('Less', [steering.bias, ctx.scalar(-SELECTION_BIAS / 2)])])]) : everyExpert;
  const expertIds = g.op1('Range', [g.constInt([0], []), g.constInt([spec.numExperts], []), g.constInt([1], [])]);
  const slots: Routes[] = [];
  for (let j = 0; j < spec.topK; j++) {
    const pooled = g.op1('Where', [pool, key, ctx.scalar(-BIG)]);
    const chosen = g.op1('ArgMax', [pooled], { axis: -1, keepdims: 1 }); // [T, 1]
    let valid = g.op1('Greater', [g.op1('GatherElements', [pooled, chosen], { axis: 1 }), ctx.scalar(-SELECTION_BIAS / 2)]);
    if (steering) valid = g.op1('And', [valid, g.op1('Not', [g.op1('Gather', [steering.dropped, chosen], { axis: 0 })])]);
    const chosenLogit = g.op1('GatherElements', [weightLogits, chosen], { axis: 1 });
    const factor = g.op1('Max', [g.op1('Abs', [weightLogits]), chosenLogit]);
    const far = g.op1('Greater', [g.op1('Div', [g.op1('Sub', [chosenLogit, weightLogits]), factor]), ctx.scalar(2 * spec.router.jitterEps)]);
    const excluded = g.op1('Or', [g.op1('Not', [pool]), far]);
    const probs = g.op1('Softmax', [g.op1('Where', [excluded, ctx.scalar(-BIG), weightLogits])], { axis: -1 });
    const weight = g.op1('Where', [valid, g.op1('GatherElements', [probs, chosen], { axis: 1 }), ctx.scalar(0)]);
    slots.push({ selected: chosen, weights: weight, valid });
    pool = g.op1('And', [pool, g.op1('Not', [g.op1('Equal', [expertIds, chosen])])]);
  }
  const concat = (values: string[]) => g.op1('Concat', values, { axis: 1 });
  return { selected: concat(slots.map((s) => s.selected)), weights: concat(slots.map((s) => s.weights)), valid: concat(slots.map((s) => s.valid)) };
}
