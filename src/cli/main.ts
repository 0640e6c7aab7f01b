/**
 * bitcycle command-line entry point. Every file in ./commands exports `register(program)`;
 * they are loaded in name order so each command lives in its own module.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { BitcycleError } from '../errors.js';

export type RegisterCommand = (program: Command) => void;

export async function buildProgram(): Promise<Command> {
  const program = new Command();
  program
    .name('bitcycle')
    .description('Train small networks with cyclic precision on generated ONNX training artifacts, and estimate what it costs on accelerators.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'commands');
  const files = readdirSync(dir)
    .filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts') && !f.startsWith('_'))
    .sort();
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { register?: RegisterCommand };
    if (typeof mod.register === 'function') mod.register(program);
  }
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

/** Print one line for a user error and return its exit code; rethrow bugs. */
export function reportError(err: unknown): number {
  if (err instanceof BitcycleError) {
    process.stderr.write(`bitcycle: ${err.message}\n`);
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

/** A closed pipe (`bitcycle runs | head`) ends the command quietly instead of crashing it. */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

export async function main(argv: string[]): Promise<number> {
  exitQuietlyOnClosedPipe(process.stdout);
  try {
    const program = await buildProgram();
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
