/**
 * One computation per quantity: the cost the dashboard's store shows is the session's tally,
 * which equals run.json's and the sum of steps.csv — also after a kill and a resume, when the
 * store starts from the restored totals (it used to count only the resumed part).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModelSpec } from '../src/models/spec.js';
import type { SessionEvent } from '../src/runs/events.js';
import type { RunConfig } from '../src/runs/run-format.js';
import { runSession } from '../src/runs/session.js';
import { initialLiveState, type LiveEvent, liveReducer, type LiveState } from '../src/ui/live/state.js';
import { Store } from '../src/ui/store.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'bitcycle.js');

function stepsCsvSums(runDir: string) {
  const [header, ...rows] = readFileSync(join(runDir, 'steps.csv'), 'utf8').trim().split('\n');
  const col = (name: string) => header!.split(',').indexOf(name);
  const sum = (name: string) => rows.reduce((a, line) => a + Number(line.split(',')[col(name)]), 0);
  return { rows: rows.length, energyJ: sum('energy_j'), latencyS: sum('latency_s'), bitops: sum('bitops'), baselineEnergyJ: sum('baseline_energy_j') };
}

function liveStore() {
  const store = new Store<LiveState, LiveEvent>(liveReducer, initialLiveState());
  const events: SessionEvent[] = [];
  return { store, events, onEvent: (e: SessionEvent) => (events.push(e), store.dispatch(e)) };
}

describe('cost totals: session → store, run.json, steps.csv', () => {
  it('train, kill -9, resume: the UI store ends with run.json totals, equal to the sum of steps.csv', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bitcycle-cost-'));
    const dir = join(out, 'killed');
    const child = spawn(process.execPath, [BIN, 'train', '--out', out, '--name', 'killed', '--epochs', '200', '--chunk-steps', '2', '--checkpoint-interval', '0', '--no-dashboard'], { stdio: 'ignore' });
    const deadline = Date.now() + 60_000;
    const progressed = () => existsSync(join(dir, 'run.json')) && JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).progress.step >= 5 * 22;
    while (Date.now() < deadline && !progressed()) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const killedAt = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    expect(killedAt.status).toBe('running');
    expect(killedAt.progress.step).toBeGreaterThan(0);
    expect(killedAt.progress.step).toBeLessThan(200 * 22);

    const { store, events, onEvent } = liveStore();
    const result = await runSession(null, { resumeDir: dir, onEvent });
    expect(result.status).toBe('completed');
    // the store started from the restored totals, not from zero
    const start = events[0]!;
    expect(start.type).toBe('start');
    if (start.type === 'start') {
      expect(start.startStep).toBe(killedAt.progress.step);
      expect(start.cost!.steps).toBe(killedAt.progress.step);
      expect(start.cost!.energyJ).toBeGreaterThan(0);
    }
    const ui = store.getState().cost!;
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    const csv = stepsCsvSums(dir);
    expect(csv.rows).toBe(200 * 22);
    expect(ui.steps).toBe(200 * 22);
    expect(ui).toEqual(run.cost);
    expect(ui).toEqual(result.cost);
    // same additions in the same order: equal to the last bit
    expect(ui.energyJ).toBe(csv.energyJ);
    expect(ui.latencyS).toBe(csv.latencyS);
    expect(ui.bitops).toBe(csv.bitops);
    expect(ui.baseline.energyJ).toBe(csv.baselineEnergyJ);
    // the breakdown covers the whole run too: its layer energies add up to the total
    const layers = store.getState().breakdown!.run.byLayer;
    expect(layers.map((l) => l.layer)).toEqual(['fc1', 'fc2']);
    expect(layers.reduce((a, l) => a + l.energyJ, 0)).toBeCloseTo(ui.energyJ, 12);
  });

  it('a run without a profile carries no cost anywhere', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bitcycle-cost-'));
    const config: RunConfig = {
      model: parseModelSpec('mlp:hidden=32'), dataset: 'digits', schedule: 'static:8', gradBits: '8', evalBits: 8, epochs: 1, batchSize: 64,
      lr: 0.1, lrSchedule: 'constant', momentum: 0.9, weightDecay: 0, seed: 1, profile: 'none', baseline: 'static:8',
    };
    const { store, onEvent } = liveStore();
    const result = await runSession(config, { outDir: out, onEvent });
    expect(result.cost).toBeNull();
    expect(store.getState().cost).toBeNull();
    expect(JSON.parse(readFileSync(join(result.runDir!, 'run.json'), 'utf8')).cost).toBeNull();
    expect(readFileSync(join(result.runDir!, 'steps.csv'), 'utf8').split('\n')[1]).toMatch(/^(?:[^,]*,){9},,,,(?:[^,]*,){7}[^,]*$/); // the four cost cells empty
  });
});
