/**
 * Sweeps on many machines: the sweep puts its runs on a BullMQ queue in Redis; `bitcycle worker`
 * processes (any machine that reaches Redis) train them in a scratch directory and return the run
 * directory's files with the outcome as the job's result; the sweep writes them into its own
 * directory. The local pool stays the default (./pool.ts).
 *
 * Nothing is lost or done twice:
 * - a job's id is the sweep's id and the run's name, so adding a run again (a rerun of the sweep)
 *   is a no-op, and a result already in Redis is picked up without training (a job that failed
 *   every attempt is retried, as a failed local run is);
 * - a worker holds a lock on its job, renewed while it trains; a killed worker stops renewing it,
 *   and after the stall timeout another worker's stalled-job check hands the job to a worker again;
 * - a job completes once: a worker that lost its lock cannot complete it, and the sweep writes a
 *   run's files once, from the one result.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { UsageError } from '../errors.js';
import { looksLikePath } from '../hw/load.js';
import type { RunConfig } from '../runs/run-format.js';
import { makeDirectories, writeFileAtomic } from '../util/fs.js';
import { sanitizeShort } from '../util/text.js';
import type { RunOutcome } from './execute.js';
import { type ExecutorEvents, RunThread } from './pool.js';
import type { SweepRun } from './spec.js';
import type { Executor } from './sweep.js';

export const QUEUE_NAME = 'bitcycle-runs';
/** Default time after which a run whose worker stopped renewing its lock goes to another worker. */
export const DEFAULT_STALL_TIMEOUT_S = 30;

/** What a job carries: the run and, when the training profile is a file, its text. */
export interface RunJobData {
  sweep: string;
  name: string;
  config: RunConfig;
  profileText?: string;
}

/** A job's result: the outcome and every file of the run directory (base64), by relative path. */
export interface RunJobResult {
  outcome: RunOutcome;
  files: Record<string, string>;
}

/** `redis://HOST:PORT[/DB]` → ioredis options (BullMQ needs maxRetriesPerRequest: null). */
export function redisConnection(url: string, option = '--queue'): { host: string; port: number; db: number; maxRetriesPerRequest: null; password?: string; username?: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(option, `expected redis://HOST:PORT, got "${sanitizeShort(url, 80)}"`);
  }
  if (u.protocol !== 'redis:' || u.hostname === '') throw new UsageError(option, `expected redis://HOST:PORT, got "${sanitizeShort(url, 80)}"`);
  const port = u.port === '' ? 6379 : Number(u.port);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new UsageError(option, `expected a database number after the port, got "${sanitizeShort(u.pathname, 40)}"`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    maxRetriesPerRequest: null,
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
  };
}

/** Every file under `dir`, by path relative to it, base64-encoded. */
export function packDirectory(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (name === '.lock' || name.endsWith('.tmp')) continue;
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(dir, path)] = readFileSync(path).toString('base64');
    }
  };
  walk(dir);
  return files;
}

/**
 * Write a returned run directory as `dir` (replacing whatever a local attempt left there): the files
 * go to a hidden sibling first, which is renamed into place, so `dir` is never half written.
 */
export function unpackDirectory(files: Record<string, string>, dir: string): void {
  const staging = join(dirname(dir), `.${basename(dir)}.incoming`);
  rmSync(staging, { recursive: true, force: true });
  for (const [rel, data] of Object.entries(files)) {
    if (rel.startsWith('/') || rel.split(/[\\/]/).includes('..')) throw new Error(`a returned run has a file outside its directory: ${sanitizeShort(rel, 80)}`);
    const path = join(staging, rel);
    makeDirectories(dirname(path));
    writeFileSync(path, Buffer.from(data, 'base64'));
  }
  const old = join(dirname(dir), `.${basename(dir)}.replaced`);
  rmSync(old, { recursive: true, force: true });
  try {
    renameSync(dir, old);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  renameSync(staging, dir);
  rmSync(old, { recursive: true, force: true });
}

/** A sweep's identity on the queue: its directory and creation time (two sweeps never share job ids). */
export function sweepQueueId(sweepDir: string, createdAt: string): string {
  return createHash('sha256').update(`${sweepDir}\u0000${createdAt}`).digest('hex').slice(0, 16);
}

/**
 * The sweep side: add the runs as jobs (idempotent), wait for each result, write it into the sweep
 * directory. `stop()` stops waiting; the jobs stay queued and a rerun picks up their results.
 */
export async function queueExecutor(url: string, runsDir: string, sweepId: string): Promise<{ executor: Executor; close: () => Promise<void> }> {
  const { Queue, QueueEvents, Job } = await import('bullmq');
  const connection = redisConnection(url);
  const queue = new Queue<RunJobData, RunJobResult>(QUEUE_NAME, { connection });
  const events = new QueueEvents(QUEUE_NAME, { connection });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]).catch((err: Error) => {
    throw new UsageError('--queue', `cannot reach Redis at ${sanitizeShort(url, 80)} (${err.message})`);
  });
  const executor: Executor = {
    execute(runs: readonly SweepRun[], on: ExecutorEvents) {
      let stopping = false;
      let wake: () => void = () => {};
      const stopped = new Promise<void>((resolve) => (wake = resolve));
      const one = async (run: SweepRun) => {
        const jobId = `${sweepId}-${run.name}`;
        const data: RunJobData = { sweep: sweepId, name: run.name, config: run.config };
        if (looksLikePath(run.config.profile)) data.profileText = readFileSync(run.config.profile, 'utf8');
        await queue.add(run.name, data, { jobId, attempts: 3, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } });
        const job = await Job.fromId<RunJobData, RunJobResult>(queue, jobId);
        if (!job) throw new Error(`job ${jobId} vanished from the queue`);
        // a job that failed every attempt in an earlier sweep is tried again, like a failed local run
        if (await job.isFailed()) await job.retry('failed');
        on.started?.(run.name, 'queue');
        const result = await Promise.race([job.waitUntilFinished(events).then((r: RunJobResult) => r, (err: Error) => ({ error: err.message })), stopped.then(() => null)]);
        if (result === null) return;
        if ('error' in result) {
          on.finished({ name: run.name, status: 'failed', error: `on the queue: ${result.error}`, testAccuracy: null, testLoss: null, bestTestAccuracy: null, robustness: [] });
          return;
        }
        if (stopping) return;
        if (Object.keys(result.files).length) unpackDirectory(result.files, join(runsDir, run.name));
        on.finished(result.outcome);
      };
      return {
        done: Promise.all(runs.map(one)).then(() => undefined),
        stop() {
          stopping = true;
          wake();
        },
      };
    },
  };
  return {
    executor,
    close: async () => {
      await events.close();
      await queue.close();
    },
  };
}

export interface QueueWorkerOptions {
  url: string;
  concurrency: number;
  stallTimeoutS?: number;
  profileDirs?: string[];
  /** Called when a job starts and ends (for the worker's log). */
  onJob?: (event: 'start' | 'end', name: string, detail?: string) => void;
}

/** `bitcycle worker`: take runs from the queue until closed, `concurrency` at a time, each on its own thread. */
export async function startQueueWorker(options: QueueWorkerOptions): Promise<{ close: (force?: boolean) => Promise<void> }> {
  const { Worker } = await import('bullmq');
  const connection = redisConnection(options.url);
  const threads = Array.from({ length: options.concurrency }, () => new RunThread());
  const lockMs = Math.round((options.stallTimeoutS ?? DEFAULT_STALL_TIMEOUT_S) * 1000);
  const worker = new Worker<RunJobData, RunJobResult>(
    QUEUE_NAME,
    async (job) => {
      const thread = threads.find((t) => !t.busy);
      if (!thread) throw new Error('no free thread (concurrency exceeded)');
      const scratch = mkdtempSync(join(tmpdir(), 'bitcycle-worker-'));
      try {
        const config = { ...job.data.config };
        if (job.data.profileText !== undefined) {
          const file = join(scratch, 'profile.json');
          writeFileAtomic(file, job.data.profileText);
          config.profile = file;
        }
        options.onJob?.('start', job.data.name);
        const outcome = await thread.run(job.data.name, config, scratch, { profileDirs: options.profileDirs, onProgress: (step, total) => void job.updateProgress({ step, total }).catch(() => {}) });
        options.onJob?.('end', job.data.name, outcome.status === 'failed' ? outcome.error : outcome.status);
        if (outcome.status === 'stopped') throw new Error('the worker was stopped during the run');
        // a run that failed before its directory was created returns no files
        const files = existsSync(join(scratch, job.data.name)) ? packDirectory(join(scratch, job.data.name)) : {};
        return { outcome, files };
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    },
    { connection, concurrency: options.concurrency, lockDuration: lockMs, stalledInterval: Math.max(1000, Math.round(lockMs / 2)), maxStalledCount: 2 },
  );
  await worker.waitUntilReady().catch((err: Error) => {
    throw new UsageError('--queue', `cannot reach Redis at ${sanitizeShort(options.url, 80)} (${err.message})`);
  });
  return {
    async close(force = false) {
      if (force) for (const t of threads) t.stop();
      await worker.close(force);
      await Promise.all(threads.map((t) => t.close()));
    },
  };
}
