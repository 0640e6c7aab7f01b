import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RunError } from '../errors.js';
import type { RunInfo } from '../runs/read.js';

/** A run given on the command line as a directory path, or as a name inside the runs directory. */
export function resolveRunArg(arg: string, runsDir: string, readRun: (dir: string) => RunInfo): RunInfo {
  const dir = existsSync(join(arg, 'run.json')) || !existsSync(join(runsDir, arg)) ? arg : join(runsDir, arg);
  if (!existsSync(dir)) throw new RunError(arg, `no such run directory (looked in . and ${runsDir}/)`);
  return readRun(dir);
}
