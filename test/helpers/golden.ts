/** The shared reference checkpoints with expected outputs (/work/shared/golden, see its README.md). */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExpertMask, ForceWeight, MaskEntry, OffMode } from '../../engine/steering/mask.ts';

/** The golden folders sit beside this repository, in the shared workspace `../shared`. */
const SHARED_DIR = fileURLToPath(new URL('../../../shared', import.meta.url));
/** golden-next: the five later families (DeepSeek-V3/V2, gpt-oss, Granite-MoE, Phi-3.5-MoE), same layout and schema. */
const GOLDEN_SETS = ['golden', 'golden-next'];
/** The sets' paths, which may be missing: resolve folders in them with sharedFolder, which says so clearly. */
export const GOLDEN_DIR = path.join(SHARED_DIR, 'golden');
export const GOLDEN_NEXT_DIR = path.join(SHARED_DIR, 'golden-next');

/**
 * A folder of the shared reference checkpoints (`sharedFolder('golden', 'qwen2_moe-f32')`). Missing, it throws an
 * error that names the folder and what it is; test files call it at their top level, so a checkout without
 * `../shared` fails each such file with that message (a throw inside `describe` would count no failed test).
 */
export function sharedFolder(...parts: string[]): string {
  const dir = path.join(SHARED_DIR, ...parts);
  if (!fs.existsSync(dir)) {
    throw new Error(`${dir} is missing: the golden reference checkpoints (tiny Hugging Face checkpoints with outputs `
      + 'computed by a separate PyTorch implementation) that the engine tests compare against. They live in ../shared '
      + 'beside this repository (shared/golden and shared/golden-next); see "Tests and benchmarks" in README.md.');
  }
  return dir;
}

export interface GoldenRouting {
  /** Decoder-layer index; dense layers are absent. */
  layer: number;
  /** Present in unsteered runs only. */
  router_logits?: number[][];
  /** Per token, forced experts first, then best first. */
  selected: number[][];
  weights: number[][];
}

export interface GoldenRun {
  generated_ids: number[];
  /** [generated + 1][vocab]: last-position logits after i generated tokens. */
  step_logits: number[][];
  /**
   * Prompt plus every generated token: prompt + 8 = 15 rows in every case, the sequence behind the last step logits
   * (the README's "all generated tokens but the last" does not match the files).
   */
  routing_full_sequence: GoldenRouting[];
}

export interface GoldenSteeredRun extends GoldenRun {
  mode: OffMode;
  force_weight: ForceWeight;
  mask: MaskEntry[];
}

export interface GoldenExpected extends GoldenRun {
  family: string;
  dtype: string;
  prompt_ids: number[];
  prompt_text: string;
  /** [prompt length][vocab]. */
  prefill_logits: number[][];
  steered: GoldenSteeredRun[];
}

export interface GoldenCase {
  name: string;
  dir: string;
  config: Record<string, unknown>;
  expected: GoldenExpected;
}

function casesOf(set: string): string[] {
  return (JSON.parse(fs.readFileSync(path.join(sharedFolder(set), 'index.json'), 'utf8')) as { cases: string[] }).cases;
}

/** Every case of both golden sets; names are unique across them. Call it at a test file's top level (sharedFolder). */
export function goldenCaseNames(): string[] {
  return GOLDEN_SETS.flatMap(casesOf);
}

export function loadGoldenCase(name: string): GoldenCase {
  const set = GOLDEN_SETS.find((s) => casesOf(s).includes(name));
  if (!set) throw new Error(`no golden case ${name}`);
  const dir = path.join(sharedFolder(set), name);
  const readJson = (file: string) => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  return { name, dir, config: readJson('config.json'), expected: readJson('expected.json') };
}

export function goldenMask(run: GoldenSteeredRun): ExpertMask {
  return { mode: run.mode, forceWeight: run.force_weight, entries: run.mask };
}
