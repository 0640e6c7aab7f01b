/**
 * End to end: `bitcycle train` on a real terminal (tmux) shows the live dashboard, with the engine
 * in a worker thread: help, pause (progress stops), resume, and a clean stop that leaves a
 * resumable run. Ink renders only the last frame under CI=true, so the app runs with `env -u CI`.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { BIN } from './helpers/cli.js';
import { TMUX, systemIt } from './helpers/system.js';
import { TmuxPane } from './helpers/tmux.js';

const pane = new TmuxPane(`bitcycle-train-${process.pid}`);

const progress = (screen: string) => Number(/ (\d+)\/88000 \(/.exec(screen)?.[1] ?? NaN);

describe('bitcycle train on a terminal', () => {
  afterAll(() => {
    pane.kill();
  });

  systemIt(TMUX, 'shows the live dashboard; p pauses and resumes, ? shows help, q stops cleanly', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bitcycle-live-'));
    const command = `env -u CI '${process.execPath}' '${BIN}' train --out '${out}' --name live --epochs 4000; echo "__EXIT__$?"; sleep 60`;
    pane.start(command, 120, 50);

    let screen = await pane.waitText('[running]');
    screen = await pane.waitText(/Cost so far on bit-fusion-45nm/);
    expect(screen).toContain('schedule cpt:3-8');
    expect(screen).toContain('Precision schedule');
    expect(screen).toMatch(/Loss .*Accuracy/);

    pane.send('p');
    screen = await pane.waitText('[paused]');
    const pausedAt = progress(screen);
    await new Promise((r) => setTimeout(r, 1500));
    expect(progress(pane.capture())).toBe(pausedAt);

    pane.send('?');
    screen = await pane.waitText('Live training view — keys');
    expect(screen).toContain('stop cleanly (checkpoint written, run resumable)');
    pane.send('?');
    await pane.waitText('Precision schedule');
    expect(progress(pane.capture())).toBe(pausedAt);
    pane.send('p');
    await pane.waitText('[running]');
    await pane.waitText(/ (\d+)\/88000 /);

    pane.send('q');
    screen = await pane.waitText(/Run stopped at step \d+/);
    await pane.waitText('__EXIT__0');
    screen = pane.capture();
    expect(screen).toMatch(/run live stopped: test accuracy [\d.]+ % after \d+\/88000 steps/);
    const run = JSON.parse(readFileSync(join(out, 'live', 'run.json'), 'utf8'));
    expect(run.status).toBe('stopped');
    expect(run.progress.step).toBeGreaterThan(pausedAt - 1);
    expect(run.progress.step).toBeLessThan(88000);
  }, 120_000);
});
