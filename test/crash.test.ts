/**
 * The crash test (bench/crash.ts) with a few trials: real `kill -9`s of `bitcycle train` at each
 * kind of moment (start-up, the run's first 0.5 s, right after the final checkpoint, anywhere).
 * By hand, with more: `npm run crash-test -- --trials 60`.
 */
import { describe, expect, it } from 'vitest';
import { crashTest } from '../bench/crash.js';

describe('kill -9 at random moments', () => {
  it('every run resumes to results identical to an uninterrupted run, or is listed with a reason and a command', async () => {
    const lines: string[] = [];
    const report = await crashTest({ trials: 4, seed: Number(process.env.BITCYCLE_CRASH_SEED ?? 1), log: (l) => lines.push(l) });
    expect(report.failures, lines.join('\n')).toEqual([]);
    expect(report.trials).toBe(4);
    expect(report.resumedIdentical + report.completedIdentical + report.reportedWithCommand + report.noRunYet).toBe(4);
    // the kill moments of one round: start-up, first 0.5 s, after the final checkpoint, anywhere
    expect(report.beforeCreation).toBe(1);
    expect(report.afterFinalCheckpoint).toBe(1);
    expect(report.early).toBeGreaterThanOrEqual(1);
    // the final-checkpoint kill lands before run.json says completed: it must have been resumed
    expect(report.resumedIdentical).toBeGreaterThanOrEqual(1);
  }, 180_000);
});
