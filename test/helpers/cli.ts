import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
/** The installed launcher: one Node process (signals reach the CLI itself). */
export const BIN = join(ROOT, 'bin', 'bitcycle.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI as a user would (no TTY), from the repository root unless `cwd` is given. */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    timeout: options.timeoutMs ?? 300_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
