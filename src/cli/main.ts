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
import * as compare from './commands/compare.js';
import * as demo from './commands/demo.js';
import * as estimate from './commands/estimate.js';
import * as exportCommand from './commands/export.js';
import * as profile from './commands/profile.js';
import * as prt from './commands/prt.js';
import * as review from './commands/review.js';
import * as runs from './commands/runs.js';
import * as schedule from './commands/schedule.js';
import * as train from './commands/train.js';

export type RegisterCommand = (program: Command) => void;

const COMMANDS: readonly { register: RegisterCommand }[] = [train, demo, prt, schedule, exportCommand, estimate, profile, review, runs, compare];

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('bitcycle')
    .description('Train small networks with cyclic precision on generated ONNX training artifacts, and estimate what it costs on accelerators.')
    .version(VERSION)
    .exitOverride();
  for (const command of COMMANDS) command.register(program);
  for (const sub of [program, ...program.commands]) {
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
