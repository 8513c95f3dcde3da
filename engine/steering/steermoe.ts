import { clip, ProblemList } from '../probes/inputs.ts';
import { logitSwitchProblems } from './easysteer.ts';
import type { ExpertMask } from './mask.ts';
import type { LocatedEntry, MaskTarget } from './mask-fit.ts';

/**
 * SteerMoE's expert (de)activation ("Steering MoE LLMs via Expert (De)Activation", arXiv 2509.09660; Adobe
 * Research's github.com/adobe-research/SteerMoE, read in its public forks JACKPURCELL/SteerMoE, files
 * src/utils.py and src/modeling_vllm/qwen3_moe.py at commit 08c284d04f8d5b442041ae4bbc03f4f24c06101c).
 *
 * SteerMoE is not a vLLM fork but model classes it registers into vLLM's ModelRegistry (`register_vllm_models()`:
 * Qwen3-MoE, Mixtral, OLMoE, gpt-oss, Phi-3.5-MoE, Llama 4). Their MoE blocks read
 * `moe_manual_args["moe_manual_weights"]`, a [num_hidden_layers][num_experts] tensor that `steer_moe()` hands every
 * worker through `llm.collective_rpc`, calling `model.update_moe_manual_args({"moe_manual_weights": tensor})`. Row =
 * decoder layer; +1 activates an expert, −1 deactivates it, 0 leaves it alone. The block log-softmaxes the router
 * logits, sets activated experts to the token's top score + 0.01 and deactivated ones to its lowest − 0.01, then
 * vLLM picks the top k: activate is a MoTE `forced` entry with forceWeight `max`, deactivate is `off` in `backfill`
 * mode — EasySteer's hard modes exactly. `steer_moe()` activates at most num_experts_per_tok experts per layer, as
 * a MoTE mask does.
 *
 * `steer_moe()` builds that matrix from a pickled pandas DataFrame of risk differences (not a file format to
 * write); we write the matrix itself, one row per line, with its shape beside it:
 *
 *   { "format": "steermoe", "num_hidden_layers": 4, "num_experts": 16,
 *     "moe_manual_weights": [[0, 0, -1, …], …] }
 *
 * and `torch.tensor(json.load(f)["moe_manual_weights"])` is what `update_moe_manual_args` takes (README: "Applying
 * a mask elsewhere"). The matrix holds no rank order: read back, entries come in layer-then-expert order.
 */
export interface SteerMoEConfig {
  format: 'steermoe';
  num_hidden_layers: number;
  num_experts: number;
  moe_manual_weights: number[][];
}

/** The mask as SteerMoE's matrix text; fails, saying what to change, when SteerMoE cannot reproduce the mask. */
export function toSteerMoE(mask: ExpertMask, target: MaskTarget): string {
  const problems = logitSwitchProblems(mask, 'SteerMoE');
  if (problems.length) throw new Error(`this mask cannot be written as a SteerMoE matrix: ${problems.join('; ')}`);
  const { layers, experts } = target.identity;
  const rows = Array.from({ length: layers }, () => new Array<number>(experts).fill(0));
  for (const e of mask.entries) rows[e.layer][e.expert] = e.state === 'forced' ? 1 : -1;
  const matrix = rows.map((row) => `    [${row.join(', ')}]`).join(',\n');
  return `{\n  "format": "steermoe",\n  "num_hidden_layers": ${layers},\n  "num_experts": ${experts},\n  "moe_manual_weights": [\n${matrix}\n  ]\n}\n`;
}

/**
 * Reads a parsed SteerMoE matrix into mask entries (backfill, forceWeight max). Its shape must be the loaded
 * model's; problems are reported at once (the first few, then how many more), prefixed by `source`. A cell's sign
 * counts, as in SteerMoE (> 0 activates, < 0 deactivates).
 */
export function fromSteerMoE(value: Record<string, unknown>, source: string, target: MaskTarget): { mask: ExpertMask; entries: LocatedEntry[] } {
  const { layers, experts } = target.identity;
  const matrix = value.moe_manual_weights;
  if (!Array.isArray(matrix)) throw new Error(`${source}: moe_manual_weights must be a list of rows, one per decoder layer`);
  if (matrix.length !== layers) {
    throw new Error(`${source}: moe_manual_weights has ${matrix.length.toLocaleString('en')} rows; the loaded model has ${layers} layers`);
  }
  for (const key of ['num_hidden_layers', 'num_experts'] as const) {
    const expected = key === 'num_hidden_layers' ? layers : experts;
    if (value[key] !== undefined && value[key] !== expected) {
      throw new Error(`${source}: ${key} is ${clip(JSON.stringify(value[key]) ?? String(value[key]), 40)}; the loaded model has ${expected}`);
    }
  }
  const problems = new ProblemList();
  const entries: LocatedEntry[] = [];
  matrix.forEach((row: unknown, layer) => {
    const at = `moe_manual_weights[${layer}]`;
    if (!Array.isArray(row) || row.length !== experts) {
      problems.add(`${at}: expected a row of ${experts} numbers (one per expert), got ${Array.isArray(row) ? `${row.length.toLocaleString('en')} values` : typeof row}`);
      return;
    }
    row.forEach((cell: unknown, expert) => {
      if (typeof cell !== 'number' || !Number.isFinite(cell)) problems.add(`${at}[${expert}]: expected a number (1 activate, -1 deactivate, 0 unchanged)`);
      else if (cell !== 0) entries.push({ layer, expert, state: cell > 0 ? 'forced' : 'off', where: `${at}[${expert}]` });
    });
  });
  if (problems.count) throw new Error(`${source}: ${problems.join()}`);
  if (!entries.length) throw new Error(`${source}: moe_manual_weights activates and deactivates no expert (every cell is 0)`);
  return { mask: { mode: 'backfill', forceWeight: 'max', entries: entries.map(({ where: _where, ...e }) => e) }, entries };
}
