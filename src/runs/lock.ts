/**
 * A run is claimed before anything in it is written: `<run>/.lock` is created with O_EXCL and
 * holds its owner (pid, host, process start time). A lock whose owner is gone (crashed, killed)
 * is stale and is broken by the next claimant; breaking happens under a second exclusive file
 * (`.lock.break`) and only if the lock still holds the same stale owner, so two claimants that
 * both find it stale cannot both win. A lock held by a live process refuses with a RunError.
 */
import { closeSync, fsyncSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RunError } from '../errors.js';
import { processAlive } from '../util/process.js';

export const LOCK_FILE = '.lock';
const BREAKER_STALE_MS = 10_000;

export interface LockOwner {
  pid: number;
  host: string;
  /** The owner's start time from /proc/<pid>/stat (Linux), to tell a reused pid from the owner. */
  procStart?: string;
  claimedAt: string;
}

/** Start time of process `pid` in clock ticks since boot (Linux), or undefined. */
function procStartOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the parenthesised command name; starttime is field 22 (index 19 here)
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function readOwner(file: string): { text: string; owner: LockOwner | null } | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null; // gone
  }
  try {
    const owner = JSON.parse(text) as LockOwner;
    return { text, owner: typeof owner?.pid === 'number' ? owner : null };
  } catch {
    return { text, owner: null };
  }
}

/** Whether the lock's owner still runs (on another host we cannot tell: it counts as alive). */
export function ownerAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  if (!processAlive(owner.pid)) return false;
  if (owner.procStart === undefined) return true;
  const now = procStartOf(owner.pid);
  return now === undefined || now === owner.procStart;
}

/** The live owner of a run directory's lock, or null when it is free or stale. */
export function lockHolder(dir: string): LockOwner | null {
  const found = readOwner(join(dir, LOCK_FILE));
  return found?.owner && ownerAlive(found.owner) ? found.owner : null;
}

function ageMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function tryCreate(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Remove `lock` if it still holds `staleText`, under the breaker file. */
function breakStale(lock: string, staleText: string): void {
  const breaker = `${lock}.break`;
  if (!tryCreate(breaker, String(process.pid))) {
    // another claimant is breaking it; a breaker left by a crash is itself stale after a while
    if (ageMs(breaker) > BREAKER_STALE_MS) {
      try {
        unlinkSync(breaker);
      } catch {
        // someone else removed it
      }
    }
    return;
  }
  try {
    const again = readOwner(lock);
    if (again && again.text === staleText) unlinkSync(lock);
  } finally {
    unlinkSync(breaker);
  }
}

export class RunLock {
  private released = false;
  private constructor(private file: string) {}

  /** The claimed directory was renamed to `dir` (a new run moved into place): the lock moved with it. */
  moved(dir: string): void {
    this.file = join(dir, LOCK_FILE);
  }

  /** Claim run directory `dir` (or a sweep's: `what`). Throws RunError when a live process holds it; breaks a stale lock. */
  static acquire(dir: string, what: 'run' | 'sweep' = 'run'): RunLock {
    const file = join(dir, LOCK_FILE);
    const owner: LockOwner = { pid: process.pid, host: hostname(), procStart: procStartOf(process.pid), claimedAt: new Date().toISOString() };
    const text = JSON.stringify(owner) + '\n';
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        if (tryCreate(file, text)) return new RunLock(file);
      } catch (err) {
        throw new RunError(dir, `cannot create ${LOCK_FILE} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
      const found = readOwner(file);
      if (!found) continue; // released meanwhile: try again
      if (found.owner && ownerAlive(found.owner)) {
        const where = found.owner.host === owner.host ? `process ${found.owner.pid}` : `process ${found.owner.pid} on ${found.owner.host} (if that machine is gone, delete ${file})`;
        throw new RunError(dir, `${what} is in use by ${where} since ${found.owner.claimedAt}; stop it first (${what === 'run' ? 'q, ' : ''}Ctrl-C) or wait`);
      }
      // A lock without a readable owner may be being written right now: give it a moment.
      if (!found.owner && ageMs(file) < 2000) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
        continue;
      }
      breakStale(file, found.text);
    }
    throw new RunError(dir, `could not claim the ${what} (${LOCK_FILE} keeps changing); try again`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      unlinkSync(this.file);
    } catch {
      // already gone (the directory was removed)
    }
  }
}
