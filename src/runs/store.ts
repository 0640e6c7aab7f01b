/**
 * The run store (writer side): one directory per run with run.json, steps.csv, evals.csv, the
 * checkpoint and the artifacts (see docs/run-format.md and ./format.ts). JSON and checkpoint
 * writes are atomic (temp + rename); CSV rows are appended in whole batches and rewritten
 * atomically when a run resumes.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeToString } from 'fast-csv';
import type { EvalRecord } from '../engine/events.js';
import { RunError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { EVALS_HEADER, evalRow, makeRunId, parseRunJson, RUN_FORMAT_VERSION, type RunJson, STEPS_HEADER } from './run-format.js';

async function csvText(rows: string[][]): Promise<string> {
  if (rows.length === 0) return '';
  return writeToString(rows, { headers: false, includeEndRowDelimiter: true });
}

/** What a new run's run.json starts with (the store adds id, times, status, pid). */
export type RunInit = Omit<RunJson, 'id' | 'createdAt' | 'updatedAt' | 'formatVersion' | 'pid' | 'summary' | 'cost' | 'status'>;

export class RunStore {
  private constructor(
    readonly dir: string,
    public run: RunJson,
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
  get checkpointFile(): string {
    return join(this.dir, 'checkpoint.safetensors');
  }
  get artifactsDir(): string {
    return join(this.dir, 'artifacts');
  }

  /** Create a new run directory under `outDir` (a unique id is chosen). */
  static async create(outDir: string, init: RunInit, name?: string): Promise<RunStore> {
    mkdirSync(outDir, { recursive: true });
    const base = name ?? makeRunId(init.config);
    let id = base;
    for (let n = 2; existsSync(join(outDir, id)); n++) id = `${base}-${n}`;
    const dir = resolve(outDir, id);
    mkdirSync(dir, { recursive: true });
    const now = new Date().toISOString();
    const store = new RunStore(dir, { formatVersion: RUN_FORMAT_VERSION, id, createdAt: now, updatedAt: now, status: 'running', pid: process.pid, summary: null, cost: null, ...init });
    store.saveRunJson();
    writeFileAtomic(store.stepsFile, STEPS_HEADER.join(',') + '\n');
    writeFileAtomic(store.evalsFile, EVALS_HEADER.join(',') + '\n');
    return store;
  }

  /** Open an existing run (for resuming); run.json is validated as the reader does. */
  static open(dir: string): RunStore {
    let text: string;
    try {
      text = readFileSync(join(dir, 'run.json'), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new RunError(dir, code === 'ENOENT' ? 'no run.json here (not a bitcycle run directory)' : `cannot read run.json (${code ?? (err as Error).message})`);
    }
    const parsed = parseRunJson(text);
    if (!parsed.ok) throw new RunError(dir, parsed.reason);
    return new RunStore(resolve(dir), parsed.run);
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

  /**
   * Drop every CSV row at or after `step` (rows written after the last checkpoint; evals after
   * it), rewriting the files atomically. A half-written last line is dropped too.
   */
  truncateTo(step: number): void {
    const keep = (file: string, header: readonly string[], stepColumn: number, inRange: (s: number) => boolean): void => {
      const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
      const kept: string[] = [header.join(',')];
      for (const line of text.split('\n').slice(1)) {
        const cells = line.split(',');
        if (cells.length !== header.length) continue; // half-written last line
        const s = Number(cells[stepColumn]);
        if (Number.isInteger(s) && inRange(s)) kept.push(line);
      }
      writeFileAtomic(file, kept.join('\n') + '\n');
    };
    keep(this.evalsFile, EVALS_HEADER, 1, (s) => s <= step);
    keep(this.stepsFile, STEPS_HEADER, 0, (s) => s < step);
  }
}
