/**
 * bitcycle command-line entry point. Each command lives in its own module under ./commands and
 * exports `register(program)`; they are registered here, explicitly, in help order. Command
 * modules import heavy dependencies (onnxruntime, Ink, mathjs) inside their actions, so
 * `bitcycle --help` loads none of them.
 */
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { BitcycleError } from '../errors.js';
import { sanitize } from '../util/text.js';
import { VERSION } from '../version.js';
import * as bits from './commands/bits.js';
import * as compare from './commands/compare.js';
import * as demo from './commands/demo.js';
import * as estimate from './commands/estimate.js';
import * as evalCommand from './commands/eval.js';
import * as exportCommand from './commands/export.js';
import * as pareto from './commands/pareto.js';
import * as plot from './commands/plot.js';
import * as profile from './commands/profile.js';
import * as report from './commands/report.js';
import * as prt from './commands/prt.js';
import * as review from './commands/review.js';
import * as runs from './commands/runs.js';
import * as schedule from './commands/schedule.js';
import * as sweep from './commands/sweep.js';
import * as train from './commands/train.js';
import * as worker from './commands/worker.js';

export type RegisterCommand = (program: Command) => void;

/** Examples shown at the end of each command's --help (what a new user types first). */
const EXAMPLES: Record<string, string[]> = {
  train: [
    'bitcycle train                                          # MLP on digits, CPT 3–8 bits, cost on bit-fusion-45nm',
    'bitcycle train --dataset fashion-mnist --model mlp:hidden=256,128 --schedule cpt:4-8:cycles=8 --epochs 10',
    'bitcycle train --schedule static:8 --name fm-static8 --profile ./my-npu.json',
    'bitcycle train --resume runs/fm-static8                 # continue from its last checkpoint',
    'bitcycle train --resume runs/fm-static8 --repair        # … going back past damaged rows',
  ],
  demo: ['bitcycle demo', 'bitcycle demo --schedule cpt:4-8 --epochs 20 --out demo-runs'],
  prt: ['bitcycle prt                                             # suggest Bmin for CPT on digits', 'bitcycle prt --dataset fashion-mnist --static-bits 8 --json'],
  schedule: ['bitcycle schedule cpt:3-8 --iterations 640', 'bitcycle schedule cpt:3-8:cycles=32 --iterations 64000 --json'],
  sweep: [
    'bitcycle sweep --schedules static:4,static:6,static:8,cpt:3-8,cpt:4-8 --profiles bit-fusion-45nm,gpu-a100 --seeds 3 --out sweeps/digits',
    'bitcycle sweep --file sweep.json --out sweeps/s1 --workers 2',
    'bitcycle sweep --file sweep.json --out sweeps/s1 --queue redis://10.0.0.5:6379    # then: bitcycle worker --queue redis://10.0.0.5:6379',
  ],
  worker: ['bitcycle worker --queue redis://10.0.0.5:6379 --concurrency 2'],
  export: ['bitcycle export --model mlp:hidden=256 --out artifacts/'],
  estimate: [
    'bitcycle estimate --model resnet-74 --schedule cpt:3-8      # CPT paper setting on Bit Fusion',
    'bitcycle estimate --model resnet-38 --schedule cpt:3-8 --profile gpu-a100 --per-layer',
    'bitcycle estimate --schedule cpt:3-8 --grad-bits cpt:6-8 --epochs 160 --json',
  ],
  profile: ['bitcycle profile list', 'bitcycle profile show bit-fusion-45nm', 'bitcycle profile validate my-npu.json other.json', 'bitcycle profile calibrate --out host.json'],
  review: ['bitcycle review                                           # browse runs/ (keys: ? for help)', 'bitcycle review demo-runs'],
  runs: ['bitcycle runs', 'bitcycle runs demo-runs --json', 'bitcycle runs --csv > runs.csv'],
  compare: ['bitcycle compare fm-static8 fm-cpt38', 'bitcycle compare runs/a runs/b --json', 'bitcycle compare runs/a runs/b --csv'],
  eval: [
    'bitcycle eval runs/fm-cpt38                               # its schedule range Bmin..Bmax, on its own profile',
    'bitcycle eval runs/fm-cpt38 --bits 2,3,4,6,8,fp8-e4m3 --profile loom-bit-serial',
    'bitcycle eval fm-cpt38 --bits 4,8 --weights-only --json',
  ],
  bits: ['bitcycle bits runs/fm-cpt38                         # bit-planes of the weights at the last step\'s bits', 'bitcycle bits fm-cpt38 --bits 8 --max-error 0.02 --json'],
  pareto: ['bitcycle pareto sweeps/digits', 'bitcycle pareto sweeps/digits --cost latency --profile gpu-a100 --all', 'bitcycle pareto sweeps/digits --json'],
  plot: [
    'bitcycle plot schedule cpt:3-8 tri:3-8 static:8 --iterations 640 --out schedules.svg',
    'bitcycle plot runs fm-static8 fm-cpt38 --metric test-accuracy --out accuracy.png',
    'bitcycle plot frontier sweeps/digits --profile bit-fusion-45nm --out frontier.svg',
    'bitcycle plot heatmap sweeps/digits --value energy-saving --out savings.png',
  ],
  report: ['bitcycle report sweeps/digits --out report.html'],
};

const COMMANDS: readonly { register: RegisterCommand }[] = [train, demo, prt, schedule, sweep, worker, exportCommand, estimate, profile, review, runs, compare, evalCommand, bits, pareto, plot, report];

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('bitcycle')
    .description('Train small networks with cyclic precision on generated ONNX training artifacts, and estimate what it costs on accelerators.')
    .version(VERSION)
    .exitOverride();
  for (const command of COMMANDS) command.register(program);
  for (const sub of program.commands) {
    const examples = EXAMPLES[sub.name()];
    if (examples) sub.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}\n`);
  }
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const sub of all(program)) {
    sub.exitOverride();
    // One error style: commander's own parse errors read like ours (`bitcycle: …`, one line).
    sub.configureOutput({ outputError: (text, write) => write(commanderErrorLine(text)) });
  }
  return program;
}

/** `error: unknown option '--x'\n(run with --help …)` → `bitcycle: unknown option '--x' (run with --help …)`. */
export function commanderErrorLine(text: string): string {
  const lines = text.replace(/^error: /, '').split('\n').filter((line) => line.trim() !== '');
  return `bitcycle: ${sanitize(lines.join(' '))} (run with --help for usage)\n`;
}

/** Print one line for a user error and return its exit code; rethrow bugs. */
export function reportError(err: unknown): number {
  if (err instanceof BitcycleError) {
    process.stderr.write(`bitcycle: ${sanitize(err.message)}\n`);
    return err.exitCode;
  }
  if (err instanceof CommanderError) {
    // commander already printed its message; --help and --version exit 0
    if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
    return 2;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`bitcycle: internal error: ${message}\n`);
  return 1;
}

const quietOnClosedPipe = (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
};

/** A closed pipe (`bitcycle runs | head`) ends the command quietly instead of crashing it. */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  if (!stream.listeners('error').includes(quietOnClosedPipe)) stream.on('error', quietOnClosedPipe);
}

export async function main(argv: string[]): Promise<number> {
  exitQuietlyOnClosedPipe(process.stdout);
  try {
    const program = buildProgram();
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return reportError(err);
  }
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.exitCode = reportError(err);
    },
  );
}
