import { generate, type GenerationTiming } from '../runtime/generate.ts';
import { tokenRouting } from '../runtime/token-routing.ts';
import { EMPTY_MASK } from '../steering/mask.ts';
import { readMaskFile } from '../steering/mask-file.ts';
import { fitMask, openModel, type ModelOpenOptions } from './open-model.ts';

export interface GenerateOptions extends ModelOpenOptions {
  model: string;
  prompt: string;
  chat?: boolean;
  mask?: string;
  maxTokens: number;
  seed: number;
  temperature: number;
  topK: number;
  topP: number;
  stop?: string[];
  json?: boolean;
}

export async function runGenerate(opts: GenerateOptions): Promise<void> {
  const parsedMask = opts.mask === undefined ? undefined : readMaskFile(opts.mask);
  const { runner, tokenizer } = await openModel(opts.model, opts);
  try {
    const mask = opts.mask && parsedMask ? fitMask(runner, opts.mask, parsedMask) : EMPTY_MASK;
    const text = opts.chat ? tokenizer.applyChatTemplate([{ role: 'user', content: opts.prompt }], { addGenerationPrompt: true }) : opts.prompt;
    const promptIds = tokenizer.encode(text, { addSpecialTokens: !opts.chat });
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    const k = runner.spec.topK;
    let printed = 0;
    for await (const event of generate(runner, tokenizer, promptIds, {
      maxTokens: opts.maxTokens,
      seed: opts.seed,
      sampling: { temperature: opts.temperature, topK: opts.topK, topP: opts.topP },
      mask,
      eosTokenIds: tokenizer.eosTokenIds,
      stopStrings: opts.stop ?? [],
    }, abort.signal)) {
      if (event.type === 'prompt') {
        if (!opts.json) continue;
        event.ids.forEach((id, t) => {
          const routing = event.routing ? tokenRouting(event.routing, t, k) : null;
          process.stdout.write(JSON.stringify({ type: 'prompt-token', index: t, id, text: tokenizer.decode([id]), routing }) + '\n');
        });
      } else if (event.type === 'token') {
        if (opts.json) {
          const routing = event.routing ? tokenRouting(event.routing, 0, k) : null;
          process.stdout.write(JSON.stringify({ type: 'token', index: event.index, id: event.id, text: event.text, routing }) + '\n');
        } else {
          process.stdout.write(event.text);
          printed += event.text.length;
        }
      } else {
        if (opts.json) process.stdout.write(JSON.stringify({ type: 'done', reason: event.reason, tokens: event.ids.length, text: event.text, precision: runner.precision, timing: event.timing }) + '\n');
        else process.stdout.write(`${event.text.slice(printed)}\n[${event.reason}, ${event.ids.length} tokens${speedText(event.timing)}]\n`);
      }
    }
  } finally {
    await runner.dispose();
  }
}

/** "; first token 84 ms, 31.5 tokens/s", or what of it was measured. */
function speedText(t: GenerationTiming): string {
  const parts = [t.firstTokenMs === null ? '' : `first token ${Math.round(t.firstTokenMs)} ms`, t.tokensPerSecond === null ? '' : `${t.tokensPerSecond.toFixed(1)} tokens/s`].filter(Boolean);
  return parts.length ? `; ${parts.join(', ')}` : '';
}
