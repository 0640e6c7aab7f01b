/**
 * The run store (writer side): one directory per run with run.json, steps.csv, evals.csv and the
 * checkpoint (see docs/run-format.md). JSON and checkpoint writes are atomic (temp + rename);
 * CSV rows are appended in whole chunks and rewritten atomically when a run resumes.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeToString } from 'fast-csv';
import { RunError } from '../errors.js';
import type { EvalRecord, RunSummary, StepRecord } from '../engine/events.js';
import type { TrainingHyperparameters } from '../engine/trainer.js';
import type { LayerShape } from '../models/shapes.js';
import { writeFileAtomic } from '../util/fs.js';

export const RUN_FORMAT_VERSION = 1;
export const STEPS_HEADER = ['step', 'epoch', 'bits_w', 'bits_a', 'bits_g', 'lr', 'loss', 'train_acc', 'wall_ms', 'energy_j', 'latency_s', 'bitops', 'baseline_energy_j'] as const;
export const EVALS_HEADER = ['epoch', 'step', 'test_loss', 'test_acc', 'bits'] as const;

/** A run's configuration as stored in run.json: names and specs, plus the engine's hyperparameters. */
export interface RunConfig extends TrainingHyperparameters {
  model: string;
  hidden?: number[];
  dataset: string;
  dataDir?: string;
  schedule: string;
  gradBits: string;
  profile: string;
  baseline: string;
}

export interface CostTotals {
  energyJ: number;
  latencyS: number;
  bitops: number;
}

export interface RunCost extends CostTotals {
  profile: string;
  baseline: CostTotals & { schedule: string };
  savings: { energyPct: number; latencyPct: number; bitopsPct: number };
}

export type RunStatus = 'running' | 'completed' | 'stopped' | 'failed';

export interface RunJson {
  formatVersion: number;
  id: string;
  createdAt: string;
  updatedAt: string;
  status: RunStatus;
  pid: number | null;
  config: RunConfig;
  versions: Record<string, string>;
  modelId: string;
  datasetSource: string;
  progress: { step: number; totalSteps: number; epoch: number; stepsPerEpoch: number };
  layers: LayerShape[];
  summary: RunSummary | null;
  cost: RunCost | null;
  error?: string;
}

/** Per-step cost columns (all optional: empty cells when no profile is tallied). */
export interface StepCost {
  energyJ: number;
  latencyS: number;
  bitops: number;
  baselineEnergyJ: number;
}

const num = (v: number) => (Number.isFinite(v) ? String(v) : '');

export function stepRow(s: StepRecord, c: StepCost | undefined): string[] {
  return [
    String(s.step),
    String(s.epoch),
    String(s.bitsWeights),
    String(s.bitsActivations),
    String(s.bitsGrad),
    num(s.lr),
    num(s.loss),
    num(s.trainAcc),
    s.wallMs.toFixed(3),
    c ? num(c.energyJ) : '',
    c ? num(c.latencyS) : '',
    c ? num(c.bitops) : '',
    c ? num(c.baselineEnergyJ) : '',
  ];
}

export function evalRow(e: EvalRecord): string[] {
  return [String(e.epoch), String(e.step), num(e.testLoss), num(e.testAcc), String(e.bits)];
}

async function csvText(rows: string[][]): Promise<string> {
  if (rows.length === 0) return '';
  return writeToString(rows, { headers: false, includeEndRowDelimiter: true });
}

function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9]+/g, '').slice(0, 24);
}

export function makeRunId(config: RunConfig, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${config.model}-${config.dataset}-${slug(config.schedule)}-s${config.seed}`;
}

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
  static async create(outDir: string, init: Omit<RunJson, 'id' | 'createdAt' | 'updatedAt' | 'formatVersion' | 'pid' | 'summary' | 'cost' | 'status'>, name?: string): Promise<RunStore> {
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

  /** Open an existing run for resuming. */
  static open(dir: string): RunStore {
    const file = join(dir, 'run.json');
    let run: RunJson;
    try {
      run = JSON.parse(readFileSync(file, 'utf8')) as RunJson;
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no run.json here (not a bitcycle run directory)' : `run.json is damaged: ${(err as Error).message}`;
      throw new RunError(dir, why);
    }
    if (run.formatVersion !== RUN_FORMAT_VERSION || typeof run.config !== 'object' || run.config === null) {
      throw new RunError(dir, `run.json: unsupported formatVersion ${String(run.formatVersion)} (expected ${RUN_FORMAT_VERSION})`);
    }
    return new RunStore(resolve(dir), run);
  }

  saveRunJson(): void {
    this.run.updatedAt = new Date().toISOString();
    writeFileAtomic(join(this.dir, 'run.json'), JSON.stringify(this.run, null, 2) + '\n');
  }

  update(patch: Partial<RunJson>): void {
    Object.assign(this.run, patch);
    this.saveRunJson();
  }

  async appendSteps(steps: readonly StepRecord[], costs?: readonly StepCost[]): Promise<void> {
    await this.appendStepRows(steps.map((s, i) => stepRow(s, costs?.[i])));
  }

  /** Append rows made by `stepRow` (fast-csv formats them: batch many rows per call, it has a per-call cost). */
  async appendStepRows(rows: string[][]): Promise<void> {
    appendFileSync(this.stepsFile, await csvText(rows));
  }

  async appendEval(e: EvalRecord): Promise<void> {
    appendFileSync(this.evalsFile, await csvText([evalRow(e)]));
  }

  /**
   * Drop every CSV row at or after `step` (rows written after the last checkpoint), rewriting
   * the files atomically. Returns the kept step rows (split into cells) for re-tallying.
   */
  truncateTo(step: number): string[][] {
    const keep = (file: string, header: readonly string[], stepColumn: number): string[][] => {
      const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
      const lines = text.split('\n');
      const rows: string[][] = [];
      const kept: string[] = [header.join(',')];
      for (const line of lines.slice(1)) {
        const cells = line.split(',');
        if (cells.length !== header.length) continue; // half-written last line
        const s = Number(cells[stepColumn]);
        const inRange = stepColumn === 0 ? s < step : s <= step;
        if (Number.isInteger(s) && inRange) {
          kept.push(line);
          rows.push(cells);
        }
      }
      writeFileAtomic(file, kept.join('\n') + '\n');
      return rows;
    };
    keep(this.evalsFile, EVALS_HEADER, 1);
    return keep(this.stepsFile, STEPS_HEADER, 0);
  }
}
