/**
 * `npm run bench -- sweep`: the issue's digits sweep — 5 schedules × 3 seeds (30 epochs each) × 2
 * profiles — timed as a user runs it (`node bin/bitcycle.js sweep …`, a fresh directory each
 * round), on the local pool (2 workers) and, when `redis-server` is installed, through a Redis queue
 * with 2 `bitcycle worker` processes started beforehand. Per-run overhead = (wall × workers − the
 * runs' own training time, from steps.csv) / runs: what a run costs beyond its training steps
 * (sessions, evaluations, robustness, files, the process start and artifact builds amortised).
 * Beside it, the steady-state overhead of a run in a warm worker (in process, one worker thread's
 * work: `executeRun` time − training time, runs 2…15, the first one's warm-up reported apart).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './common.js';
import { startRedis } from '../test/helpers/redis.js';
import { readSteps } from '../src/runs/read.js';
import { executeRun, WorkerCache } from '../src/sweep/execute.js';
import { parseSweepSpec, planSweep } from '../src/sweep/spec.js';
import { trainingWallS } from '../src/sweep/summary.js';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const BIN = join(import.meta.dirname, '..', 'bin', 'bitcycle.js');
const GRID = ['sweep', '--model', 'mlp', '--dataset', 'digits', '--schedules', 'static:4,static:6,static:8,cpt:3-8,cpt:4-8', '--profiles', 'bit-fusion-45nm,gpu-a100', '--seeds', '3'];
const RUNS = 15;
const WORKERS = 2;

function trainingSeconds(dir: string): number {
  const [header, ...rows] = readFileSync(join(dir, 'results.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
  const profile = header!.indexOf('profile');
  const wall = header!.indexOf('wall_s');
  const first = rows[0]![profile];
  return rows.filter((r) => r[profile] === first).reduce((a, r) => a + Number(r[wall]), 0);
}

function timeSweep(extra: string[]): { wallS: number; overheadS: number } {
  const parent = mkdtempSync(join(tmpdir(), 'bitcycle-bench-sweep-'));
  try {
    const out = join(parent, 'S');
    const start = performance.now();
    const r = spawnSync(process.execPath, [BIN, ...GRID, ...extra, '--out', out], { encoding: 'utf8' });
    const wallS = (performance.now() - start) / 1000;
    if (r.status !== 0) throw new Error(`sweep failed (${r.status}): ${r.stderr}`);
    return { wallS, overheadS: (wallS * WORKERS - trainingSeconds(out)) / RUNS };
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}

const stats = (xs: number[]) => ({ median: Number(median(xs).toFixed(3)), min: Number(Math.min(...xs).toFixed(3)), max: Number(Math.max(...xs).toFixed(3)) });

/** One worker's overheads, in process: the first run's (warm-up: sessions, kernel probe, JIT) and each later run's. */
async function workerOverheads(): Promise<{ firstS: number; steadyS: number[] }> {
  const plan = planSweep(parseSweepSpec({ schedules: ['static:4', 'static:6', 'static:8', 'cpt:3-8', 'cpt:4-8'], seeds: 3, profiles: ['bit-fusion-45nm', 'gpu-a100'] }, 'bench'));
  const parent = mkdtempSync(join(tmpdir(), 'bitcycle-bench-worker-'));
  try {
    const cache = new WorkerCache();
    const over: number[] = [];
    for (const r of plan.runs) {
      const start = performance.now();
      const o = await executeRun(r.name, r.config, { runsDir: parent, cache });
      const total = (performance.now() - start) / 1000;
      if (o.status !== 'completed') throw new Error(`${r.name}: ${o.status} ${o.error ?? ''}`);
      over.push(total - trainingWallS(await readSteps(join(parent, r.name)))!);
    }
    return { firstS: over[0]!, steadyS: over.slice(1) };
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}

export async function benchSweep(): Promise<void> {
  const worker: { firstS: number; steadyS: number[] }[] = [];
  for (let i = 0; i < REPEATS; i++) worker.push(await workerOverheads());
  console.log(JSON.stringify({ bench: 'sweep', what: 'per-run overhead in a warm worker (in process)', perRunOverheadS: stats(worker.map((w) => median(w.steadyS))), firstRunWarmupS: stats(worker.map((w) => w.firstS)), goal: 'per-run overhead ≤ 0.3 s', repeats: REPEATS }));

  const local = Array.from({ length: REPEATS }, () => timeSweep(['--workers', String(WORKERS)]));
  console.log(JSON.stringify({ bench: 'sweep', executor: `local pool, ${WORKERS} workers`, runs: RUNS, profiles: 2, epochs: 30, wallS: stats(local.map((l) => l.wallS)), perRunOverheadS: stats(local.map((l) => l.overheadS)), goal: 'wall ≤ 30 s, per-run overhead ≤ 0.3 s', repeats: REPEATS }));

  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.log(JSON.stringify({ bench: 'sweep', executor: 'redis', skipped: 'redis-server not installed (apt-get install redis-server)' }));
    return;
  }
  const children: ChildProcess[] = [];
  try {
    const redis = await startRedis();
    children.push(redis.process);
    const url = redis.url;
    for (let i = 0; i < WORKERS; i++) {
      const w = spawn(process.execPath, [BIN, 'worker', '--queue', url], { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(w);
      await new Promise<void>((resolve) => w.stderr!.on('data', (d: Buffer) => d.toString().includes('worker on') && resolve()));
    }
    const queued = Array.from({ length: REPEATS }, () => timeSweep(['--queue', url]));
    console.log(JSON.stringify({ bench: 'sweep', executor: `redis queue, ${WORKERS} bitcycle worker processes`, runs: RUNS, profiles: 2, epochs: 30, wallS: stats(queued.map((l) => l.wallS)), perRunOverheadS: stats(queued.map((l) => l.overheadS)), repeats: REPEATS }));
  } finally {
    for (const c of children) c.kill('SIGKILL');
  }
}
