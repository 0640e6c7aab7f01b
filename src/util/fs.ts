import { accessSync, closeSync, constants, fsyncSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { sanitizeShort } from './text.js';
import { basename, dirname, join, resolve } from 'node:path';

let tempCounter = 0;

/** Write a file atomically: write a temp file in the same directory, fsync, rename over the target. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${++tempCounter}.tmp`);
  const fd = openSync(temp, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
}

/**
 * `mkdir -p`, one level at a time. Node's `mkdirSync(path, { recursive: true })` never returns for
 * some paths (`/proc/x` loops on ENOENT forever, ignoring signals), so it is not used.
 */
export function makeDirectories(path: string): void {
  const missing: string[] = [];
  let dir = resolve(path);
  for (;;) {
    try {
      if (statSync(dir).isDirectory()) break;
      const err = new Error(`ENOTDIR: not a directory, mkdir '${dir}'`) as NodeJS.ErrnoException;
      err.code = 'ENOTDIR';
      throw err;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    missing.push(dir);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/**
 * An output directory given by `option` (`--out`): created if missing, and it must be a directory
 * we can write in. Every problem is one UsageError line naming the option.
 */
export function prepareOutputDirectory(dir: string, option: string): void {
  const shown = sanitizeShort(dir, 120);
  const why = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  try {
    makeDirectories(dir);
  } catch (err) {
    throw new UsageError(option, `cannot create directory "${shown}" (${why(err)})`);
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new UsageError(option, `cannot write in "${shown}" (${why(err)})`);
  }
}
