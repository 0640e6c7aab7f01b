/**
 * A sweep through Redis: a real `redis-server` on a free loopback port, two `bitcycle worker`
 * processes, one of them killed while it trains. The sweep completes, no run is lost or written
 * twice, and summary.csv equals the local pool's (wall-time columns aside).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { BIN, ROOT, runMain } from './helpers/cli.js';
import { REDIS, systemIt } from './helpers/system.js';
import { startRedis } from './helpers/redis.js';

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A `bitcycle worker` process and its log as it grows. */
function startWorker(url: string): { child: ChildProcess; log: () => string } {
  const child = spawn(process.execPath, [BIN, 'worker', '--queue', url, '--stall-timeout', '2'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  return { child, log: () => log };
}

const WALL = /^(wall_s_|cost_wall_s$|front_wall$)/;
/** summary.csv without its wall-time columns. */
function summaryWithoutWallTime(file: string): string[][] {
  const [header, ...rows] = readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(','));
  const keep = header!.map((c, i) => (WALL.test(c) ? -1 : i)).filter((i) => i >= 0);
  return [header!, ...rows].map((r) => keep.map((i) => r[i]!));
}

describe('bitcycle sweep --queue', () => {
  systemIt(REDIS, 'two workers, one killed mid-run: the sweep completes with no run lost or duplicated, and the same summary as the local pool', async () => {
    const redis = await startRedis();
    children.push(redis.process);
    const url = redis.url;
    const parent = mkdtempSync(join(tmpdir(), 'bitcycle-queue-'));
    dirs.push(parent);
    const grid = ['sweep', '--schedules', 'static:4,cpt:3-8', '--seeds', '2', '--epochs', '4', '--profiles', 'bit-fusion-45nm,gpu-a100'];

    const local = await runMain([...grid, '--workers', '1', '--out', join(parent, 'local')]);
    expect(local.status).toBe(0);

    const a = startWorker(url);
    const b = startWorker(url);
    const queued = runMain([...grid, '--queue', url, '--out', join(parent, 'queued')]);
    // kill worker a as soon as it trains something; its job must go to worker b
    let killed: string | null = null;
    const deadline = Date.now() + 60_000;
    while (killed === null && Date.now() < deadline) {
      const m = /training (\S+)/.exec(a.log());
      if (m) {
        a.child.kill('SIGKILL');
        killed = m[1]!;
      } else await new Promise((r) => setTimeout(r, 5));
    }
    expect(killed).not.toBeNull();
    const result = await queued;
    expect(result.stderr).not.toMatch(/FAILED/);
    expect(result.status).toBe(0);
    // the killed worker's run was trained again by the other worker, and recorded once
    await new Promise((r) => setTimeout(r, 200));
    expect(b.log()).toContain(`finished ${killed} (completed)`);
    const out = join(parent, 'queued');
    expect(readdirSync(join(out, 'runs')).sort()).toEqual(readdirSync(join(parent, 'local', 'runs')).sort());
    expect(readdirSync(join(out, 'outcomes')).filter((n) => n.endsWith('.json'))).toHaveLength(4);
    expect(summaryWithoutWallTime(join(out, 'summary.csv'))).toEqual(summaryWithoutWallTime(join(parent, 'local', 'summary.csv')));
    // the runs came back whole: the same steps as trained locally
    for (const name of readdirSync(join(out, 'runs'))) {
      const steps = (dir: string) => readFileSync(join(dir, 'runs', name, 'steps.csv'), 'utf8').split('\n').map((l) => l.split(',').filter((_, i) => i !== 8).join(','));
      expect(steps(out)).toEqual(steps(join(parent, 'local')));
      expect(existsSync(join(out, 'runs', name, 'checkpoint.safetensors'))).toBe(true);
    }

    // run again: everything is there, nothing is queued or trained
    const again = await runMain([...grid, '--queue', url, '--out', out]);
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(/4\/4 done · 0 running · 0 failed · 4 from before/);
    b.child.kill('SIGINT');
    await new Promise((r) => b.child.once('exit', r));
  }, 120_000);
});
