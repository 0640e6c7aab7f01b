/**
 * Crash test: `kill -9` a training process at random moments and check that nothing is lost.
 *
 *   npx tsx bench/crash.ts --trials 60 [--seed 7] [--keep]
 *   npm run crash-test -- --trials 60
 *
 * One uninterrupted reference run, then per trial: start the same run (same config, its own name)
 * as a real process (`node bin/bitcycle.js train …`), SIGKILL it at a random moment, and then:
 * - if `runs` lists it as resumable (interrupted, not-started, stopped), resume it (in this
 *   process) to the end and compare with the reference: steps.csv without the wall-time column,
 *   evals.csv, and run.json's summary (without timings) and cost must be identical;
 * - if it already completed, compare the same way;
 * - otherwise `runs` must report it with a reason and a command that gets the user going.
 * Kill moments, in turn: during the process's start-up (before it creates its run), in the first
 * 0.5 s after the run directory appears (creation, step-0 checkpoint, first steps), right after
 * the final checkpoint is written (before run.json says completed), and twice anywhere in the run. The random choices come from `--seed`, so a failing trial can be replayed.
 * Prints the counts; exits 1 if any trial lost or changed something.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listRuns, nextCommand, type RunEntry } from '../src/runs/read.js';
import { runMain } from '../test/helpers/cli.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const BIN = join(ROOT, 'bin', 'bitcycle.js');

/** A short digits run that checkpoints at every epoch end. */
const TRAIN_ARGS = ['--dataset', 'digits', '--model', 'mlp:hidden=32', '--epochs', '16', '--batch-size', '32', '--schedule', 'cpt:3-8:cycles=4', '--checkpoint-interval', '0', '--chunk-steps', '8', '--no-dashboard'];

export interface CrashReport {
  trials: number;
  /** Killed, resumed, identical to the reference. */
  resumedIdentical: number;
  /** The process had finished before the kill landed; identical to the reference. */
  completedIdentical: number;
  /** Not resumable, but listed with a reason and a command. */
  reportedWithCommand: number;
  /** Killed before it wrote anything. */
  noRunYet: number;
  /** Kill moments by kind: before the run directory existed, in the run's first 0.5 s, right after its final checkpoint. */
  beforeCreation: number;
  early: number;
  afterFinalCheckpoint: number;
  failures: string[];
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The step recorded in a checkpoint's header (without reading the tensors), or null. */
function checkpointStep(file: string): number | null {
  try {
    const bytes = readFileSync(file);
    const len = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + len).toString('utf8')) as { __metadata__?: { step?: string } };
    return Number(header.__metadata__?.step);
  } catch {
    return null;
  }
}

/** The parts of a run that must not depend on interruptions. */
function fingerprint(dir: string): { steps: string; evals: string; summary: unknown; cost: unknown; status: string } {
  const steps = readFileSync(join(dir, 'steps.csv'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => line.split(',').filter((_, i) => i !== 8).join(',')) // column 8 is wall_ms
    .join('\n');
  const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  const { wallS: _w, stepsPerSecond: _s, ...summary } = run.summary ?? {};
  return { steps, evals: readFileSync(join(dir, 'evals.csv'), 'utf8'), summary, cost: run.cost, status: run.status };
}

function entryOf(out: string, name: string): RunEntry | undefined {
  return existsSync(out) ? listRuns(out).find((e) => e.name === name) : undefined;
}

type KillAt =
  /** ms after the process starts (it may not have created its run yet). */
  | { fromSpawnMs: number }
  /** ms after its run directory appears. */
  | { fromCreationMs: number }
  /** as soon as the checkpoint at this step is on disk. */
  | { afterCheckpointStep: number };

/** Start a training process and SIGKILL it at the given moment; resolves with ms from spawn to creation. */
async function killedRun(out: string, name: string, at: KillAt | null): Promise<number | null> {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, 'train', ...TRAIN_ARGS, '--out', out, '--name', name], { stdio: 'ignore', env: { ...process.env, CI: 'true' } });
  let done = false;
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  void exited.then(() => (done = true));
  const until = async (cond: () => boolean) => {
    const deadline = Date.now() + 60_000;
    while (!done && Date.now() < deadline && !cond()) await sleep(1);
  };
  const dir = join(out, name);
  let createdAfter: number | null = null;
  if (at && 'fromSpawnMs' in at) {
    await until(() => Date.now() - started >= at.fromSpawnMs);
  } else {
    await until(() => existsSync(dir));
    if (existsSync(dir)) createdAfter = Date.now() - started;
    if (at && 'fromCreationMs' in at) {
      const t0 = Date.now();
      await until(() => Date.now() - t0 >= at.fromCreationMs);
    } else if (at) {
      await until(() => checkpointStep(join(dir, 'checkpoint.safetensors')) === at.afterCheckpointStep);
    } else {
      await exited;
    }
  }
  child.kill('SIGKILL');
  await exited;
  return createdAfter;
}

export async function crashTest(options: { trials: number; seed: number; keep?: boolean; log?: (line: string) => void }): Promise<CrashReport> {
  const log = options.log ?? (() => undefined);
  const out = mkdtempSync(join(tmpdir(), 'bitcycle-crash-'));
  const random = rng(options.seed);
  const report: CrashReport = { trials: 0, resumedIdentical: 0, completedIdentical: 0, reportedWithCommand: 0, noRunYet: 0, beforeCreation: 0, early: 0, afterFinalCheckpoint: 0, failures: [] };
  try {
    // The reference, uninterrupted, as a process (its timing also sizes the kill window).
    const started = Date.now();
    const startupMs = (await killedRun(out, 'reference', null)) ?? 0;
    const runMs = Date.now() - started - startupMs;
    const ref = fingerprint(join(out, 'reference'));
    if (ref.status !== 'completed') throw new Error(`the reference run did not complete (${ref.status})`);
    const totalSteps = JSON.parse(readFileSync(join(out, 'reference', 'run.json'), 'utf8')).progress.totalSteps as number;
    log(`reference: ${totalSteps} steps; run directory after ${startupMs} ms, then ${runMs} ms to the end`);

    for (let t = 0; t < options.trials; t++) {
      const name = `trial-${t}`;
      // every 5th trial: before the process has created its run; 5th+1: in the run's first 0.5 s;
      // 5th+2: right after the final checkpoint; the rest: anywhere in the run
      const kind = (['spawn', 'early', 'final', 'uniform', 'uniform'] as const)[t % 5]!;
      const delayMs = kind === 'spawn' ? random() * startupMs : kind === 'early' ? random() * 500 : random() * runMs * 1.05;
      const at: KillAt = kind === 'spawn' ? { fromSpawnMs: delayMs } : kind === 'final' ? { afterCheckpointStep: totalSteps } : { fromCreationMs: delayMs };
      if (kind === 'final') report.afterFinalCheckpoint++;
      if (kind === 'early' || (kind === 'uniform' && delayMs < 500)) report.early++;
      if (kind === 'spawn') report.beforeCreation++;
      await killedRun(out, name, at);
      report.trials++;
      const what = kind === 'final' ? 'right after the final checkpoint' : kind === 'spawn' ? `${delayMs.toFixed(0)} ms after spawn` : `${delayMs.toFixed(0)} ms after the run was created`;
      const entry = entryOf(out, name);
      if (!entry) {
        // killed before it created its directory: nothing was written, nothing to report
        report.noRunYet++;
        log(`${name} (${what}): no run directory yet (nothing written)`);
        continue;
      }
      const status = entry.damaged ? 'damaged' : entry.status;
      const command = nextCommand(entry);
      if (entry.damaged) {
        if (command && entry.reason) {
          report.reportedWithCommand++;
          log(`${name} (${what}): listed as damaged: ${entry.reason} → ${command}`);
        } else report.failures.push(`${name} (${what}): damaged (${entry.reason}) without a command`);
        continue;
      }
      if (status !== 'completed') {
        if (!command) {
          report.failures.push(`${name} (${what}): ${status} and no command to continue`);
          continue;
        }
        const r = await runMain(['train', '--resume', join(out, name), '--no-dashboard']);
        if (r.status !== 0) {
          report.failures.push(`${name} (${what}): ${status}; resume exited ${r.status}: ${r.stderr.trim().split('\n').at(-1)}`);
          continue;
        }
      }
      const got = fingerprint(join(out, name));
      const diffs = (['steps', 'evals', 'summary', 'cost', 'status'] as const).filter((k) => JSON.stringify(got[k]) !== JSON.stringify(ref[k]));
      if (diffs.length) report.failures.push(`${name} (${what}): was ${status}; differs from the reference in ${diffs.join(', ')}`);
      else if (status === 'completed') report.completedIdentical++;
      else report.resumedIdentical++;
      log(`${name} (${what}): ${status}${status === 'completed' ? '' : ' → resumed'}${diffs.length ? ` DIFFERS: ${diffs.join(', ')}` : ', identical'}`);
    }
  } finally {
    if (!options.keep) rmSync(out, { recursive: true, force: true });
    else log(`kept ${out}`);
  }
  return report;
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const report = await crashTest({ trials: arg('--trials', 50), seed: arg('--seed', 1), keep: process.argv.includes('--keep'), log: (l) => console.log(l) });
  const { failures, ...counts } = report;
  console.log(JSON.stringify(counts));
  for (const f of failures) console.log(`FAILED ${f}`);
  process.exitCode = failures.length ? 1 : 0;
}
