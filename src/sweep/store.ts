/**
 * A sweep directory:
 *
 *   S/sweep.json           the sweep (its spec, profiles and run names), rewritten when the sweep changes
 *   S/runs/<name>/         every run, an ordinary run directory (`bitcycle review S/runs` shows them)
 *   S/outcomes/<name>.json what the run's worker reported (accuracy, robustness); written atomically
 *                          once the run has finished, so a run with an outcome is never trained again
 *   S/results.csv          one row per run and profile
 *   S/summary.csv          one row per configuration and profile: statistics over seeds
 *
 * Re-running a sweep skips runs with an outcome, continues runs that have a directory but no
 * outcome (from their checkpoint), and starts the rest.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { RunError } from '../errors.js';
import { makeDirectories, prepareOutputDirectory, writeFileAtomic } from '../util/fs.js';
import type { RunOutcome } from './execute.js';
import { type SweepPlan, type SweepRun, sweepSpecSchema } from './spec.js';

export const SWEEP_FORMAT_VERSION = 1;

const sweepJsonSchema = z.looseObject({
  formatVersion: z.literal(SWEEP_FORMAT_VERSION),
  createdAt: z.string(),
  updatedAt: z.string(),
  spec: sweepSpecSchema,
  profiles: z.array(z.string()).min(1),
  runs: z.array(z.string()),
});

export type SweepJson = z.output<typeof sweepJsonSchema>;

const outcomeSchema = z.looseObject({
  name: z.string(),
  status: z.enum(['completed', 'diverged', 'failed']),
  error: z.string().optional(),
  testAccuracy: z.number().nullable(),
  testLoss: z.number().nullable(),
  bestTestAccuracy: z.number().nullable(),
  robustness: z.array(z.object({ bits: z.number().int(), accuracy: z.number(), loss: z.number() })),
});

export class SweepDir {
  private constructor(
    readonly dir: string,
    public json: SweepJson,
  ) {}

  get runsDir(): string {
    return join(this.dir, 'runs');
  }
  get outcomesDir(): string {
    return join(this.dir, 'outcomes');
  }
  get summaryFile(): string {
    return join(this.dir, 'summary.csv');
  }
  get resultsFile(): string {
    return join(this.dir, 'results.csv');
  }

  /** Open (or create) `dir` for `plan`: sweep.json is (re)written with the plan's runs and profiles. */
  static prepare(dir: string, plan: SweepPlan, option = '--out'): SweepDir {
    prepareOutputDirectory(dir, option);
    const abs = resolve(dir);
    const existing = existsSync(join(abs, 'sweep.json')) ? SweepDir.read(abs).json : null;
    const now = new Date().toISOString();
    const json: SweepJson = {
      formatVersion: SWEEP_FORMAT_VERSION,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
      spec: plan.spec,
      profiles: plan.profiles,
      runs: plan.runs.map((r) => r.name),
    };
    makeDirectories(join(abs, 'runs'));
    makeDirectories(join(abs, 'outcomes'));
    writeFileAtomic(join(abs, 'sweep.json'), JSON.stringify(json, null, 2) + '\n');
    return new SweepDir(abs, json);
  }

  /** An existing sweep directory; a missing or damaged sweep.json is a RunError naming it. */
  static read(dir: string): SweepDir {
    const abs = resolve(dir);
    const file = join(abs, 'sweep.json');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new RunError(abs, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not a sweep directory (no sweep.json)' : `cannot read sweep.json (${(err as NodeJS.ErrnoException).code})`);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new RunError(file, 'not valid JSON');
    }
    const parsed = sweepJsonSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new RunError(file, `$.${issue.path.join('.')}: ${issue.message}`);
    }
    return new SweepDir(abs, parsed.data);
  }

  outcomeFile(name: string): string {
    return join(this.outcomesDir, `${name}.json`);
  }

  /** The recorded outcome of a run, or null (none yet, or a damaged file: the run is done again). */
  outcome(name: string): RunOutcome | null {
    let text: string;
    try {
      text = readFileSync(this.outcomeFile(name), 'utf8');
    } catch {
      return null;
    }
    try {
      const parsed = outcomeSchema.safeParse(JSON.parse(text));
      return parsed.success && parsed.data.name === name ? (parsed.data as RunOutcome) : null;
    } catch {
      return null;
    }
  }

  /** Record a finished run (completed, diverged or failed); a stopped run has no outcome yet. */
  recordOutcome(outcome: RunOutcome): void {
    if (outcome.status === 'stopped') return;
    writeFileAtomic(this.outcomeFile(outcome.name), JSON.stringify(outcome, null, 2) + '\n');
  }

  /**
   * Runs still to do: no outcome, or an outcome of `failed` (a failure is tried again; completed
   * and diverged runs are final).
   */
  pending(runs: readonly SweepRun[]): SweepRun[] {
    return runs.filter((r) => {
      const o = this.outcome(r.name);
      return o === null || o.status === 'failed';
    });
  }
}
