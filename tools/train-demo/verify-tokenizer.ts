/**
 * Checks that the engine's tokenizer (tokenizer.json through @huggingface/tokenizers) turns every text of the demo
 * world into the same ids as tools/train-demo/tok.py did in training, and decodes them back to the same text.
 *   npx tsx tools/train-demo/verify-tokenizer.ts [--model models/demo] [--cases /tmp/mote-demo-token-cases.json]
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { loadTokenizer } from '../../engine/model/tokenizer.ts';

const { values: args } = parseArgs({
  options: { model: { type: 'string', default: 'models/demo' }, cases: { type: 'string', default: '/tmp/mote-demo-token-cases.json' } },
});
const config = JSON.parse(fs.readFileSync(`${args.model}/config.json`, 'utf8'));
const tokenizer = await loadTokenizer(args.model!, config);
const cases: { text: string; ids: number[] }[] = JSON.parse(fs.readFileSync(args.cases!, 'utf8'));
let bad = 0;
for (const { text, ids } of cases) {
  const got = tokenizer.encode(text, { addSpecialTokens: false });
  const back = tokenizer.decode(got);
  const sameIds = JSON.stringify(got) === JSON.stringify(ids);
  // A chat transcript decodes with a space after each "\n" (every segment gets its own "▁"); plain text round-trips.
  const roundTrip = text.includes('\n') || back === text;
  if (!sameIds || !roundTrip) {
    bad++;
    if (bad <= 10) console.log(`MISMATCH ${JSON.stringify(text)}\n  python ${ids.join(',')}\n  engine ${got.join(',')}\n  decoded ${JSON.stringify(back)}`);
  }
}
const unk = tokenizer.encode('<unk>', { addSpecialTokens: false });
console.log(`${cases.length - bad}/${cases.length} texts tokenize identically and round-trip (unk id ${unk})`);
const stream = tokenizer.createStreamDecoder();
const ids = tokenizer.encode("Sorry, I can't help with that.", { addSpecialTokens: false });
console.log(`stream decode: ${JSON.stringify(ids.map((id) => stream.push(id)).join('') + stream.flush())}`);
process.exitCode = bad ? 1 : 0;
