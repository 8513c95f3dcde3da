import type { Precision, PrecisionChoice } from '../engine/protocol/types.ts';

/** The precision choices model.open takes, each with the one line the Model view explains it with. */
export const PRECISION_CHOICES: { value: PrecisionChoice; label: string; explain: string }[] = [
  { value: 'auto', label: 'auto', explain: 'the widest of f32, int8 and int4 whose memory estimate fits' },
  { value: 'f32', label: 'f32', explain: 'weights as stored, widened to float32' },
  { value: 'bf16-as-f32', label: 'bf16-as-f32', explain: "float32 weights rounded to bfloat16 (as the model's bfloat16 release computes); f32's memory" },
  { value: 'int8', label: 'int8', explain: 'routed experts quantised to 8 bits in blocks of 32; dense layers float32, routers always float32' },
  { value: 'int4', label: 'int4', explain: 'routed experts quantised to 4 bits in blocks of 32; dense layers float32, routers always float32' },
];

export const explainPrecision = (p: PrecisionChoice): string => PRECISION_CHOICES.find((c) => c.value === p)?.explain ?? '';

/** The estimate row a precision is held as: bf16-as-f32 keeps float32 weights, so it takes f32's memory. */
export const estimateRowOf = (p: Precision): Precision => (p === 'bf16-as-f32' ? 'f32' : p);

/** What a memory-guard refusal suggests instead ("…; try precision int8 (10.7 GiB)", "…with a context of 2048 tokens"). */
export function suggestedRetry(error: string | null): { precision: Precision; context?: number } | null {
  const m = error?.match(/try precision (f32|bf16-as-f32|int8|int4)(?: with a context of (\d+) tokens)?/);
  if (!m) return null;
  return { precision: m[1] as Precision, ...(m[2] ? { context: Number(m[2]) } : {}) };
}
