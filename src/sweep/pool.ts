/**
 * Worker threads that train sweep runs. A `RunThread` trains one run at a time and keeps its data
 * sets and artifacts between runs (./pool-worker.ts). The local pool is `workers` of them (default:
 * one per core) taking runs from one list, grouped by model and data set so each cache is reused;
 * a queue worker (./queue.ts) runs its jobs on them too.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { RunConfig } from '../runs/run-format.js';
import { formatModelSpec } from '../models/spec.js';
import type { RunOutcome } from './execute.js';
import type { SweepRun } from './spec.js';

export type PoolCommand =
  | { type: 'run'; name: string; config: RunConfig; runsDir: string; profileDirs?: string[] }
  | { type: 'stop' }
  | { type: 'exit' };

export type PoolMessage = { type: 'progress'; name: string; step: number; total: number } | { type: 'outcome'; outcome: RunOutcome };

/** What an executor (local pool or queue) tells the sweep as runs go. */
export interface ExecutorEvents {
  started?(name: string, where: string): void;
  progress?(name: string, step: number, total: number): void;
  /** Called once per run that finished (completed, diverged or failed) or stopped. */
  finished(outcome: RunOutcome): void;
}

/** Runs ordered so that runs sharing a model and data set follow each other (a worker's cache is reused). */
export function cacheOrder(runs: readonly SweepRun[]): SweepRun[] {
  const key = (r: SweepRun) => `${r.config.dataset}\u0000${formatModelSpec(r.config.model)}`;
  return [...runs].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export const defaultWorkers = (): number => Math.max(1, availableParallelism());

const failedOutcome = (name: string, error: string): RunOutcome => ({ name, status: 'failed', error, testAccuracy: null, testLoss: null, bestTestAccuracy: null, robustness: [] });

/** One worker thread training one run at a time. */
export class RunThread {
  private readonly worker = new Worker(new URL('./pool-worker.mjs', import.meta.url));
  private current: { name: string; resolve: (o: RunOutcome) => void; onProgress?: (step: number, total: number) => void } | null = null;
  private dead: string | null = null;
  private readonly exited: Promise<void>;

  constructor() {
    this.worker.on('message', (m: PoolMessage) => {
      const c = this.current;
      if (!c) return;
      if (m.type === 'progress') c.onProgress?.(m.step, m.total);
      else {
        this.current = null;
        c.resolve(m.outcome);
      }
    });
    const die = (why: string) => {
      this.dead ??= why;
      const c = this.current;
      this.current = null;
      c?.resolve(failedOutcome(c.name, why));
    };
    this.worker.on('error', (err) => die(`worker thread failed: ${err.message}`));
    this.exited = new Promise((resolve) => this.worker.on('exit', () => (die('worker thread exited during the run'), resolve())));
  }

  get busy(): boolean {
    return this.current !== null;
  }

  /** Train (or continue) `name` in `runsDir`; resolves with its outcome (`stopped` after stop()). */
  run(name: string, config: RunConfig, runsDir: string, options: { profileDirs?: string[]; onProgress?: (step: number, total: number) => void } = {}): Promise<RunOutcome> {
    if (this.current) throw new Error('RunThread.run while a run is in progress');
    if (this.dead) return Promise.resolve(failedOutcome(name, this.dead));
    return new Promise((resolve) => {
      this.current = { name, resolve, onProgress: options.onProgress };
      this.worker.postMessage({ type: 'run', name, config, runsDir, profileDirs: options.profileDirs } satisfies PoolCommand);
    });
  }

  /** The current run stops at its next chunk, with a checkpoint. */
  stop(): void {
    this.worker.postMessage({ type: 'stop' } satisfies PoolCommand);
  }

  /** Let the thread end (after its current run). */
  async close(): Promise<void> {
    if (!this.dead) this.worker.postMessage({ type: 'exit' } satisfies PoolCommand);
    await this.exited;
  }
}

export interface LocalPool {
  /** Resolves when every run has finished, or, after `stop()`, when the running ones have stopped. */
  done: Promise<void>;
  /** Stop: no new runs; running ones stop at their next chunk with a checkpoint. */
  stop(): void;
}

export function runLocalPool(runs: readonly SweepRun[], options: { runsDir: string; workers: number; profileDirs?: string[] }, events: ExecutorEvents): LocalPool {
  const queue = cacheOrder(runs);
  const threads = Array.from({ length: queue.length === 0 ? 0 : Math.max(1, Math.min(options.workers, queue.length)) }, () => new RunThread());
  let stopping = false;
  const loop = async (thread: RunThread, index: number) => {
    for (let run = queue.shift(); run && !stopping; run = stopping ? undefined : queue.shift()) {
      events.started?.(run.name, `worker ${index + 1}`);
      const name = run.name;
      events.finished(await thread.run(name, run.config, options.runsDir, { profileDirs: options.profileDirs, onProgress: (step, total) => events.progress?.(name, step, total) }));
    }
    await thread.close();
  };
  return {
    done: Promise.all(threads.map(loop)).then(() => undefined),
    stop() {
      stopping = true;
      for (const t of threads) t.stop();
    },
  };
}
