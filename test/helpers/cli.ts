import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { format } from 'node:util';

export const ROOT = join(import.meta.dirname, '..', '..');
/** The installed launcher: one Node process (signals reach the CLI itself). */
export const BIN = join(ROOT, 'bin', 'bitcycle.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Working directory of the command (default: the repository root). */
  cwd?: string;
  /** Variables added to (or, when undefined, removed from) the environment. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Run the CLI as a user would (no TTY), from the repository root unless `cwd` is given: a real
 * `node bin/bitcycle.js` process (≈ 0.4 s to start). Use it only where the process itself is what
 * is tested (the launcher, signals, a kill); everything else goes through `runMain`.
 */
export function runCli(args: string[], options: CliOptions & { timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    timeout: options.timeoutMs ?? 300_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Write = typeof process.stdout.write;

/** A `write` that appends to `sink` instead of writing; honours the optional callback. */
function capture(sink: (text: string) => void): Write {
  return ((chunk: string | Uint8Array, encodingOrCb?: BufferEncoding | ((err?: Error | null) => void), cb?: (err?: Error | null) => void) => {
    const encoding = typeof encodingOrCb === 'string' ? encodingOrCb : 'utf8';
    sink(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(encoding));
    const done = typeof encodingOrCb === 'function' ? encodingOrCb : cb;
    if (done) process.nextTick(done, null);
    return true;
  }) as Write;
}

/**
 * The same as `runCli`, in this process: calls the CLI's `main(argv)` with stdout and stderr
 * captured, and returns its exit code as `status`. No TTY (the test worker's streams are pipes),
 * like `runCli`. Not reentrant: the streams, the working directory and the environment are the
 * process's own, so calls must not overlap (vitest runs a file's tests one after another).
 */
export async function runMain(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const { main } = await import('../../src/cli/main.js');
  let stdout = '';
  let stderr = '';
  const { stdout: out, stderr: err } = process;
  // restore exactly: an own `write` (if a test runner patched one in) or the prototype's
  const ownOut = Object.getOwnPropertyDescriptor(out, 'write');
  const ownErr = Object.getOwnPropertyDescriptor(err, 'write');
  const cwd = process.cwd();
  const savedEnv = Object.entries(options.env ?? {}).map(([key]) => [key, process.env[key]] as const);
  // vitest routes `console` around process.stdout, so it is captured on its own (as Node prints it)
  const consoleMethods = ['log', 'info', 'debug', 'error', 'warn'] as const;
  const savedConsole = consoleMethods.map((m) => [m, Object.getOwnPropertyDescriptor(console, m)] as const);
  process.exitCode = undefined;
  out.write = capture((text) => (stdout += text));
  err.write = capture((text) => (stderr += text));
  for (const m of consoleMethods) {
    console[m] = (...args: unknown[]) => {
      const line = format(...args) + '\n';
      if (m === 'error' || m === 'warn') stderr += line;
      else stdout += line;
    };
  }
  try {
    for (const [key, value] of Object.entries(options.env ?? {})) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    process.chdir(options.cwd ?? ROOT);
    const status = await main(args);
    return { status, stdout, stderr };
  } finally {
    if (ownOut) Object.defineProperty(out, 'write', ownOut);
    else delete (out as Partial<NodeJS.WriteStream>).write;
    if (ownErr) Object.defineProperty(err, 'write', ownErr);
    else delete (err as Partial<NodeJS.WriteStream>).write;
    for (const [m, descriptor] of savedConsole) {
      if (descriptor) Object.defineProperty(console, m, descriptor);
      else delete (console as Partial<Console>)[m];
    }
    process.chdir(cwd);
    for (const [key, value] of savedEnv) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    process.exitCode = undefined;
  }
}
