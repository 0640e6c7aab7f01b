/**
 * `bitcycle sweep` over several invocations: killed midway and run again, and a budgeted sweep
 * (`--budget`, then `--verify`). Split from sweep.test.ts so the two files run in parallel.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, runMain } from './helpers/cli.js';
import { csvRows, tempDirs } from './helpers/sweep.js';

const tempDir = tempDirs();
const csv = csvRows;

describe('bitcycle sweep, again', () => {
  it('killed midway, run again: keeps every finished run and completes the rest', async () => {
    const out = join(tempDir(), 'S');
    const args = ['sweep', '--schedules', 'static:4,static:8', '--seeds', '2', '--epochs', '8', '--workers', '1', '--out', out];
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: 'ignore' });
    const outcomes = join(out, 'outcomes');
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (!existsSync(outcomes) || readdirSync(outcomes).filter((n) => n.endsWith('.json')).length < 2)) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const finished = readdirSync(outcomes).filter((n) => n.endsWith('.json'));
    expect(finished.length).toBeGreaterThanOrEqual(2);
    expect(finished.length).toBeLessThan(4);
    const kept = new Map(finished.map((n) => [n, readFileSync(join(outcomes, n), 'utf8')]));
    const keptSteps = new Map(finished.map((n) => [n, statSync(join(out, 'runs', n.replace(/\.json$/, ''), 'steps.csv')).mtimeMs]));

    const again = await runMain(args);
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`4/4 done · 0 running · 0 failed · ${finished.length} from before`));
    for (const [n, text] of kept) expect(readFileSync(join(outcomes, n), 'utf8')).toBe(text);
    for (const [n, mtime] of keptSteps) expect(statSync(join(out, 'runs', n.replace(/\.json$/, ''), 'steps.csv')).mtimeMs).toBe(mtime);
    const results = csv(join(out, 'results.csv'));
    expect(results.every((r) => r.status === 'completed' && Number(r.steps) === 22 * 8)).toBe(true);
    expect(readdirSync(join(out, 'runs')).filter((n) => !n.startsWith('.'))).toHaveLength(4);
  }, 120_000);
  it('--budget trains the chosen fraction, estimates the rest, and --verify measures the estimate', async () => {
    const out = join(tempDir(), 'S');
    const grid = ['sweep', '--schedules', 'static:4,static:8,cpt:3-8', '--seeds', '2', '--epochs', '1', '--workers', '1', '--out', out];
    const tooSmall = await runMain([...grid, '--budget', '0.3']);
    expect(tooSmall.status).toBe(2);
    expect(tooSmall.stderr).toMatch(/^bitcycle: --budget: 0\.3 of the 3 configs × 2 tasks is 1 run, fewer than it takes to train every config and every task once \(at least 0\.500\)/);
    expect((await runMain([...grid, '--verify'])).stderr).toMatch(/^bitcycle: --verify: only with --budget/);

    const first = await runMain([...grid, '--budget', '0.5', '--selection', 'random']);
    expect(first.status).toBe(0);
    const trained = readdirSync(join(out, 'outcomes'));
    expect(trained).toHaveLength(3); // ⌊0.5 · 3 · 2⌋
    const budget = JSON.parse(readFileSync(join(out, 'budget.json'), 'utf8'));
    expect(budget).toMatchObject({ fraction: 0.5, method: 'random', seed: 1 });
    expect(budget.runs).toHaveLength(3);
    // every config and every seed was trained at least once
    const results = csv(join(out, 'results.csv')).filter((r) => r.status === 'completed');
    expect(new Set(results.map((r) => r.schedule)).size).toBe(3);
    expect(new Set(results.map((r) => r.seed)).size).toBe(2);
    const estimate = csv(join(out, 'estimate.csv'));
    expect(estimate).toHaveLength(3);
    for (const row of estimate) {
      expect(Number(row.estimated_test_accuracy)).toBeGreaterThan(0.5);
      expect(Number(row.estimated_test_accuracy)).toBeLessThan(1);
      expect(row.true_test_accuracy).toBe('');
    }
    expect(first.stdout).toMatch(/estimated energy frontier/);

    // --verify trains the other three; the estimate still comes from the budget's three runs
    const verify = await runMain([...grid, '--budget', '0.5', '--selection', 'random', '--verify']);
    expect(verify.status).toBe(0);
    expect(readdirSync(join(out, 'outcomes'))).toHaveLength(6);
    expect(JSON.parse(readFileSync(join(out, 'budget.json'), 'utf8')).runs).toEqual(budget.runs);
    const verified = csv(join(out, 'estimate.csv'));
    expect(verified.map((r) => r.estimated_test_accuracy)).toEqual(estimate.map((r) => r.estimated_test_accuracy));
    for (const row of verified) expect(Number(row.true_test_accuracy)).toBeGreaterThan(0.5);
    expect(verify.stdout).toMatch(/vs the true frontier: mean distance \d\.\d{3}, max \d\.\d{3} \(normalized cost × error\), regret \d\.\d{3}, recall \d+ %, precision \d+ %/);
  }, 60_000);

});
