/**
 * A sweep: the grid of training runs `bitcycle sweep` trains, from flags or a JSON sweep file, and
 * its expansion into run configs with stable names. Pure (no files): the CLI reads the file.
 *
 * Axes: models × datasets × schedules × error bit-widths × learning-rate policies × seeds; every
 * other training option is shared. Hardware profiles are not an axis of training: each run is
 * trained once (costed on the first profile) and re-tallied on the others from its stored bit
 * columns.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { UsageError } from '../errors.js';
import { formatModelSpec } from '../models/spec.js';
import type { RunConfig } from '../runs/run-format.js';
import { type TrainFlags, trainConfig } from '../cli/train-options.js';

export const MAX_SWEEP_RUNS = 10_000;

/** A sweep as written in a sweep file (and as stored in the sweep directory's sweep.json). */
export const sweepSpecSchema = z.strictObject({
  models: z.array(z.string().min(1)).min(1).default(['mlp']),
  datasets: z.array(z.string().min(1)).min(1).default(['digits']),
  dataDir: z.string().optional(),
  schedules: z.array(z.string().min(1)).min(1).default(['cpt:3-8']),
  gradBits: z.array(z.union([z.string().min(1), z.number().int()]).transform(String)).min(1).default(['8']),
  lrSchedules: z.array(z.string().min(1)).min(1).default(['constant']),
  /** Seeds: a count (1..N, from `firstSeed`) or the list itself. */
  seeds: z.union([z.number().int().min(1).max(1000), z.array(z.number().int().min(0).max(0xffffffff)).min(1)]).default(1),
  firstSeed: z.number().int().min(0).default(1),
  profiles: z.array(z.string().min(1)).min(1).default(['bit-fusion-45nm']),
  epochs: z.number().int().min(1).default(30),
  batchSize: z.number().int().min(1).default(64),
  lr: z.number().min(0).default(0.1),
  momentum: z.number().min(0).max(1).default(0.9),
  weightDecay: z.number().min(0).default(0.0005),
  evalBits: z.number().int().min(1).max(32).optional(),
  baseline: z.string().optional(),
  fpLayers: z.string().optional(),
  kernels: z.string().optional(),
  chunkSteps: z.number().int().min(1).optional(),
});

export type SweepSpec = z.output<typeof sweepSpecSchema>;

/** One run of the grid: its directory name and its config (trained on the first profile). */
export interface SweepRun {
  name: string;
  config: RunConfig;
}

export interface SweepPlan {
  spec: SweepSpec;
  /** The hardware profiles every run is costed on (the first one is the training run's own). */
  profiles: string[];
  runs: SweepRun[];
}

/** A sweep file's content (parsed JSON), validated: one line naming the field and what is wrong. */
export function parseSweepSpec(value: unknown, source: string): SweepSpec {
  const parsed = sweepSpecSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.length ? `$.${issue.path.join('.')}` : '$';
  throw new UsageError(source, `${path}: ${issue.message}`);
}

/** The seeds of a sweep, in order. */
export function sweepSeeds(spec: SweepSpec): number[] {
  return typeof spec.seeds === 'number' ? Array.from({ length: spec.seeds }, (_, i) => spec.firstSeed + i) : [...spec.seeds];
}

// a format range's `..` would read as a path: `_` (no name that existed before formats changes)
const slug = (text: string) => text.replace(/[^A-Za-z0-9.]+/g, '').replace(/\.{2,}/g, '_').slice(0, 24);

/** A run's directory name in the sweep: readable axes, plus a digest of the whole config so two configs never share one. */
export function sweepRunName(config: RunConfig): string {
  const digest = createHash('sha256').update(JSON.stringify(configKey(config))).digest('hex').slice(0, 8);
  const model = slug(formatModelSpec(config.model));
  return `${model}-${slug(config.dataset)}-${slug(config.schedule)}-g${slug(config.gradBits)}-lr${slug(config.lrSchedule)}-s${config.seed}-${digest}`;
}

/** What identifies a run's training: every config field but the profile (costs are re-tallied per profile). */
export function configKey(config: RunConfig): Record<string, unknown> {
  const { profile: _profile, ...rest } = config;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The identity of a configuration across seeds: every config field but the seed and the profile. */
export function groupKey(config: RunConfig): string {
  const { seed: _seed, ...rest } = configKey(config);
  return JSON.stringify(rest);
}

/**
 * Expand a sweep into its runs (every axis validated as `bitcycle train` validates it, so a bad
 * value fails before any run starts, naming the option).
 */
export function planSweep(spec: SweepSpec): SweepPlan {
  const seeds = sweepSeeds(spec);
  const count = spec.models.length * spec.datasets.length * spec.schedules.length * spec.gradBits.length * spec.lrSchedules.length * seeds.length;
  if (count > MAX_SWEEP_RUNS) throw new UsageError('sweep', `${count} runs is more than ${MAX_SWEEP_RUNS}; split the sweep`);
  const runs: SweepRun[] = [];
  const names = new Set<string>();
  for (const model of spec.models)
    for (const dataset of spec.datasets)
      for (const schedule of spec.schedules)
        for (const gradBits of spec.gradBits)
          for (const lrSchedule of spec.lrSchedules)
            for (const seed of seeds) {
              const flags: TrainFlags = {
                model,
                dataset,
                dataDir: spec.dataDir,
                schedule,
                gradBits,
                evalBits: spec.evalBits === undefined ? undefined : String(spec.evalBits),
                epochs: String(spec.epochs),
                batchSize: String(spec.batchSize),
                lr: String(spec.lr),
                lrSchedule,
                momentum: String(spec.momentum),
                weightDecay: String(spec.weightDecay),
                seed: String(seed),
                profile: spec.profiles[0]!,
                baseline: spec.baseline,
                chunkSteps: spec.chunkSteps === undefined ? undefined : String(spec.chunkSteps),
                fpLayers: spec.fpLayers,
                kernels: spec.kernels,
              };
              const config = trainConfig(flags);
              const name = sweepRunName(config);
              if (names.has(name)) continue; // the same run listed twice (e.g. `static:8` and `static:08`)
              names.add(name);
              runs.push({ name, config });
            }
  return { spec, profiles: [...new Set(spec.profiles)], runs };
}
