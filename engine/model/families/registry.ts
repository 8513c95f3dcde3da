import { deepseekV2 } from './deepseek-v2.ts';
import { deepseekV3 } from './deepseek-v3.ts';
import type { FamilyDescriptor } from './family.ts';
import { gptOss } from './gpt-oss.ts';
import { graniteMoe } from './granitemoe.ts';
import { mixtral } from './mixtral.ts';
import { olmoe } from './olmoe.ts';
import { phiMoe } from './phimoe.ts';
import { qwen2Moe } from './qwen2-moe.ts';
import { qwen3Moe } from './qwen3-moe.ts';

export const FAMILIES: FamilyDescriptor[] = [mixtral, qwen2Moe, qwen3Moe, olmoe, deepseekV3, deepseekV2, gptOss, graniteMoe, phiMoe];

function supportedModelTypes(): string[] {
  return FAMILIES.flatMap((f) => f.modelTypes);
}

export function familyFor(modelType: unknown, configFile: string): FamilyDescriptor {
  const family = typeof modelType === 'string' ? FAMILIES.find((f) => f.modelTypes.includes(modelType)) : undefined;
  if (!family) {
    throw new Error(`${configFile}: model_type ${JSON.stringify(modelType)} is not supported; supported: ${supportedModelTypes().join(', ')}`);
  }
  return family;
}
