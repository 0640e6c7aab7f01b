/**
 * The run store (writer side): one directory per run with run.json, steps.csv, evals.csv, the
 * checkpoint, a copy of the hardware profile and the artifacts (see docs/run-format.md and
 * ./run-format.ts). A run directory is claimed (./lock.ts) before anything in it is written and
 * released when the session ends. JSON and checkpoint writes are atomic (temp + rename); CSV rows
 * are appended in whole batches and rewritten atomically when a run resumes.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeToString } from 'fast-csv';
import { type Checkpoint, writeCheckpoint } from '../artifacts/checkpoint.js';
import type { AnchorRecord, EvalRecord } from '../engine/events.js';
import { RunError, UsageError } from '../errors.js';
import { prepareOutputDirectory, writeFileAtomic } from '../util/fs.js';
import { sanitizeShort } from '../util/text.js';
import { lockHolder, RunLock } from './lock.js';
import { processAlive } from '../util/process.js';
import { ANCHORS_HEADER, EVALS_HEADER, anchorRow, evalRow, makeRunId, parseRunJson, type ProfileCopy, RUN_FORMAT_VERSION, type RunJson, STEPS_HEADER } from './run-format.js';

async function csvText(rows: string[][]): Promise<string> {
  if (rows.length === 0) return '';
  return writeToString(rows, { headers: false, includeEndRowDelimiter: true });
}

/** A run directory name given with --name: one path component of safe characters. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

export function checkRunName(name: string): string {
  if (!NAME.test(name) || name.includes('..')) {
    throw new UsageError('--name', `"${sanitizeShort(name, 60)}" is not a run name (1–128 letters, digits, . _ + -, starting with a letter or digit; no path)`);
  }
  return name;
}

let stagingCounter = 0;

/** Rename `from` to `to` unless `to` exists (then false). */
function moveInto(from: string, to: string): boolean {
  if (existsSync(to)) return false;
  try {
    renameSync(from, to);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') return false;
    throw err;
  }
}

/** Staging directories (`.<id>.<pid>.<n>.creating`) of creators that died before renaming them. */
function removeAbandonedCreations(outDir: string): void {
  let names: string[];
  try {
    names = readdirSync(outDir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^\..+\.(\d+)\.\d+\.creating$/.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    if (lockHolder(join(outDir, name)) === null && !processAlive(Number(m[1]))) rmSync(join(outDir, name), { recursive: true, force: true });
  }
}

/** Temp files of atomic writes (`.<name>.<pid>.<n>.tmp`) left by a process that died mid-write. */
export function removeStaleTempFiles(dir: string): string[] {
  const removed: string[] = [];
  for (const sub of [dir, join(dir, 'artifacts')]) {
    let names: string[];
    try {
      names = readdirSync(sub);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!/^\..+\.tmp$/.test(name)) continue;
      try {
        unlinkSync(join(sub, name));
        removed.push(join(sub, name));
      } catch {
        // gone already
      }
    }
  }
  return removed;
}

/** What a new run's run.json starts with (the store adds id, times, status, pid). */
export type RunInit = Omit<RunJson, 'id' | 'createdAt' | 'updatedAt' | 'formatVersion' | 'pid' | 'summary' | 'cost' | 'status' | 'profileCopy'>;

export interface CreateOptions {
  /** Run directory name (`--name`); default: a generated id. An existing name is an error. */
  name?: string;
  /** The profile file's exact text, copied into the run (content-addressed). */
  profile?: { text: string; sha256: string; name: string };
  /** The step-0 checkpoint of the run with this id, written before the run counts as resumable. */
  initial: (runId: string) => Checkpoint;
}

export class RunStore {
  private constructor(
    readonly dir: string,
    public run: RunJson,
    private readonly lock: RunLock,
  ) {}

  get id(): string {
    return this.run.id;
  }
  get stepsFile(): string {
    return join(this.dir, 'steps.csv');
  }
  get evalsFile(): string {
    return join(this.dir, 'evals.csv');
  }
  /** SVRG's anchors (written by runs of an optimizer that takes full gradients). */
  get anchorsFile(): string {
    return join(this.dir, 'anchors.csv');
  }
  get checkpointFile(): string {
    return join(this.dir, 'checkpoint.safetensors');
  }
  get artifactsDir(): string {
    return join(this.dir, 'artifacts');
  }

  /**
   * Create and claim a new run directory under `outDir`. Order matters for crashes: run.json
   * (status `starting`, so the run is listed and `--resume` can start it), the CSV headers, the
   * profile copy, the step-0 checkpoint, then status `running`.
   */
  static async create(outDir: string, init: RunInit, options: CreateOptions): Promise<RunStore> {
    prepareOutputDirectory(outDir, '--out');
    removeAbandonedCreations(outDir);
    const name = options.name !== undefined ? checkRunName(options.name) : null;
    const base = name ?? makeRunId(init.config);
    // The run is assembled in a hidden directory (claimed, run.json, CSV headers) and renamed into
    // place, so a listed run directory always has them: a crash leaves either nothing visible or a
    // run that `--resume` can start. rename() onto an existing, non-empty directory fails, so
    // two creators of one name cannot both succeed.
    const staging = join(outDir, `.${base}.${process.pid}.${++stagingCounter}.creating`);
    try {
      mkdirSync(staging);
    } catch (err) {
      throw new UsageError('--out', `cannot create a run directory in "${sanitizeShort(outDir, 120)}" (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const lock = RunLock.acquire(staging);
    const now = new Date().toISOString();
    const profileCopy: ProfileCopy | undefined = options.profile
      ? { file: `profile-${options.profile.sha256.slice(0, 12)}.json`, sha256: options.profile.sha256, name: options.profile.name }
      : undefined;
    const run: RunJson = { formatVersion: RUN_FORMAT_VERSION, id: base, createdAt: now, updatedAt: now, status: 'starting', pid: process.pid, summary: null, cost: null, ...init, ...(profileCopy ? { profileCopy } : {}) };
    let store: RunStore | null = null;
    try {
      writeFileAtomic(join(staging, 'steps.csv'), STEPS_HEADER.join(',') + '\n');
      writeFileAtomic(join(staging, 'evals.csv'), EVALS_HEADER.join(',') + '\n');
      for (let n = 1; ; n++) {
        const id = n === 1 ? base : `${base}-${n}`;
        run.id = id;
        writeFileAtomic(join(staging, 'run.json'), JSON.stringify(run, null, 2) + '\n');
        if (moveInto(staging, join(outDir, id))) {
          const dir = resolve(outDir, id);
          lock.moved(dir);
          store = new RunStore(dir, run, lock);
          break;
        }
        if (name !== null) {
          const shown = sanitizeShort(join(outDir, id), 120);
          throw new UsageError('--name', `run directory ${shown} already exists; choose another name, or continue it with: bitcycle train --resume ${shown}`);
        }
      }
      store.start(options.initial(run.id), options.profile?.text);
    } catch (err) {
      lock.release();
      if (!store) rmSync(staging, { recursive: true, force: true });
      throw err;
    }
    return store;
  }

  /**
   * Write a fresh start (or restart from step 0): empty CSV files, the profile copy, the step-0
   * checkpoint; then the run is `running`.
   */
  start(initial: Checkpoint, profileText?: string): void {
    this.keepAnchorsBefore(0);
    writeFileAtomic(this.stepsFile, STEPS_HEADER.join(',') + '\n');
    writeFileAtomic(this.evalsFile, EVALS_HEADER.join(',') + '\n');
    if (profileText !== undefined && this.run.profileCopy) writeFileAtomic(join(this.dir, this.run.profileCopy.file), profileText);
    writeCheckpoint(this.checkpointFile, initial);
    this.update({ status: 'running', pid: process.pid, summary: null, cost: null, progress: { ...this.run.progress, step: 0, epoch: 0 } });
  }

  /**
   * Open and claim an existing run (for resuming): the lock is taken first, then run.json is read
   * and validated as the reader does, and temp files of interrupted writes are removed.
   */
  static open(dir: string): RunStore {
    try {
      if (!statSync(dir).isDirectory()) throw new RunError(dir, 'not a directory');
    } catch (err) {
      if (err instanceof RunError) throw err;
      throw new RunError(dir, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such run directory' : `cannot read (${(err as NodeJS.ErrnoException).code})`);
    }
    const lock = RunLock.acquire(dir);
    try {
      let text: string;
      try {
        text = readFileSync(join(dir, 'run.json'), 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new RunError(dir, code === 'ENOENT' ? 'no run.json here (not a bitcycle run directory, or its creation was interrupted before anything was trained)' : `cannot read run.json (${code ?? (err as Error).message})`);
      }
      const parsed = parseRunJson(text);
      if (!parsed.ok) throw new RunError(dir, parsed.reason);
      removeStaleTempFiles(dir);
      return new RunStore(resolve(dir), parsed.run, lock);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  /** Give the run up (the session ended, or resuming it was refused). */
  release(): void {
    this.lock.release();
  }

  saveRunJson(): void {
    this.run.updatedAt = new Date().toISOString();
    writeFileAtomic(join(this.dir, 'run.json'), JSON.stringify(this.run, null, 2) + '\n');
  }

  update(patch: Partial<RunJson>): void {
    Object.assign(this.run, patch);
    this.saveRunJson();
  }

  /** Append rows made by `stepRow` (fast-csv formats them: batch many rows per call, it has a per-call cost). */
  async appendStepRows(rows: string[][]): Promise<void> {
    appendFileSync(this.stepsFile, await csvText(rows));
  }

  async appendEval(e: EvalRecord): Promise<void> {
    appendFileSync(this.evalsFile, await csvText([evalRow(e)]));
  }

  /** The full objective at each epoch (`--objective`). */
  get objectiveFile(): string {
    return join(this.dir, 'objective.csv');
  }

  /** A row of anchors.csv or objective.csv (the file is created with its header on first use). */
  async appendAnchor(a: AnchorRecord, file = this.anchorsFile): Promise<void> {
    if (!existsSync(file)) writeFileAtomic(file, ANCHORS_HEADER.join(',') + '\n');
    appendFileSync(file, await csvText([anchorRow(a)]));
  }

  /** Keep the anchors and objective rows taken before `step` (a resumed run takes the later ones again, identically). */
  keepAnchorsBefore(step: number): void {
    for (const file of [this.anchorsFile, this.objectiveFile]) {
      if (!existsSync(file)) continue;
      const [header, ...rows] = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
      const kept = rows.filter((r) => /^\d+,/.test(r) && Number(r.slice(0, r.indexOf(','))) < step);
      writeFileAtomic(file, [header ?? ANCHORS_HEADER.join(','), ...kept].join('\n') + '\n');
    }
  }

  /** Rewrite both CSV files to exactly these data lines (as read), atomically. */
  rewriteRows(stepLines: readonly string[], evalLines: readonly string[]): void {
    writeFileAtomic(this.stepsFile, [STEPS_HEADER.join(','), ...stepLines].join('\n') + '\n');
    writeFileAtomic(this.evalsFile, [EVALS_HEADER.join(','), ...evalLines].join('\n') + '\n');
  }
}
