import { Command } from 'commander';
import { appVersion } from '../host/app-version.ts';
import { floatArg, intArg } from './arguments.ts';
import { registerDbCommands } from './db-command.ts';
import { runInspect } from './inspect.ts';
import { runGenerate } from './generate-command.ts';
import { modelOptions } from './open-model.ts';
import { registerEvaluationCommands } from './evaluation-commands.ts';
import { registerProbeCommands } from './probe-commands.ts';
import { registerServeCommand } from './serve-command.ts';

const program = new Command();
program
  .name('mote')
  .description('MoTE Studio engine: inspect Mixture-of-Experts checkpoints, generate with routing capture and expert masks')
  .version(appVersion().version, '-V, --version', 'print the version of MoTE Studio')
  .showHelpAfterError();

program
  .command('inspect')
  .description('architecture, layers, experts, k, router rule, parameters, and the memory each precision needs, of a checkpoint folder')
  .requiredOption('--model <dir>', 'Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json)')
  .option('--context <n>', 'context the memory estimates are for (default: the model\'s, at most 4096)', intArg('--context', 16))
  .option('--fidelity', 'also build and run every precision and report its agreement with float32: routing (expert slots), next token, largest logit difference')
  .option('--threads <n>', 'onnxruntime intra-op threads for --fidelity (0 = automatic)', intArg('--threads'), 0)
  .option('--json', 'print the summary as JSON')
  .action(runInspect);

modelOptions(program
  .command('generate')
  .description('generate text, streaming it as it is produced; with --json, one JSON line per token with its routing')
  .requiredOption('--model <dir>', 'Hugging Face checkpoint folder')
  .requiredOption('--prompt <text>', 'prompt text')
  .option('--chat', "wrap the prompt as a user message in the checkpoint's chat template")
  .option('--mask <file>', 'expert mask JSON (mote-mask format) to steer with')
  .option('--max-tokens <n>', 'most tokens to generate', intArg('--max-tokens'), 128)
  .option('--seed <s>', 'random seed: the same seed gives the same output', intArg('--seed'), 0)
  .option('--temperature <t>', '0 = greedy', floatArg('--temperature', 0, 100), 0)
  .option('--top-k <k>', 'sample from the k most likely tokens (0 = all)', intArg('--top-k'), 0)
  .option('--top-p <p>', 'nucleus sampling threshold', floatArg('--top-p', 0.000001, 1), 1)
  .option('--stop <text...>', 'stop when the output contains this text')
  .option('--json', 'one JSON line per prompt and generated token with its routing, then a summary line'))
  .action(runGenerate);

registerProbeCommands(program);
registerEvaluationCommands(program);
registerServeCommand(program);
registerDbCommands(program);

program.parseAsync(process.argv).catch((err: Error) => {
  console.error(`mote: ${err.message}`);
  process.exitCode = 1;
});
