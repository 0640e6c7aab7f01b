/**
 * End to end: `bitcycle train` on a real terminal (tmux) shows the live dashboard, with the engine
 * in a worker thread: help, pause (progress stops), resume, and a clean stop that leaves a
 * resumable run. Ink renders only the last frame under CI=true, so the app runs with `env -u CI`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { BIN } from './helpers/cli.js';
import { TMUX, systemIt } from './helpers/system.js';

const session = `bitcycle-train-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
const capture = () => {
  try {
    return tmux('capture-pane', '-p', '-t', session);
  } catch {
    return '';
  }
};
const send = (key: string) => tmux('send-keys', '-t', session, key);

async function waitText(text: string | RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let screen = '';
  while (Date.now() < deadline) {
    screen = capture();
    if (typeof text === 'string' ? screen.includes(text) : text.test(screen)) return screen;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${String(text)}; screen was:\n${screen}`);
}

const progress = (screen: string) => Number(/ (\d+)\/88000 \(/.exec(screen)?.[1] ?? NaN);

describe('bitcycle train on a terminal', () => {
  afterAll(() => {
    spawnSync('tmux', ['kill-session', '-t', session], { stdio: 'ignore' });
  });

  systemIt(TMUX, 'shows the live dashboard; p pauses and resumes, ? shows help, q stops cleanly', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bitcycle-live-'));
    const command = `env -u CI '${process.execPath}' '${BIN}' train --out '${out}' --name live --epochs 4000; echo "__EXIT__$?"; sleep 60`;
    tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '50', command);

    let screen = await waitText('[running]');
    screen = await waitText(/Cost so far on bit-fusion-45nm/);
    expect(screen).toContain('schedule cpt:3-8');
    expect(screen).toContain('Precision schedule');
    expect(screen).toMatch(/Loss .*Accuracy/);

    send('p');
    screen = await waitText('[paused]');
    const pausedAt = progress(screen);
    await new Promise((r) => setTimeout(r, 1500));
    expect(progress(capture())).toBe(pausedAt);

    send('?');
    screen = await waitText('Live training view — keys');
    expect(screen).toContain('stop cleanly (checkpoint written, run resumable)');
    send('?');
    await waitText('Precision schedule');
    expect(progress(capture())).toBe(pausedAt);
    send('p');
    await waitText('[running]');
    await waitText(/ (\d+)\/88000 /);

    send('q');
    screen = await waitText(/Run stopped at step \d+/);
    await waitText('__EXIT__0');
    screen = capture();
    expect(screen).toMatch(/run live stopped: test accuracy [\d.]+ % after \d+\/88000 steps/);
    const run = JSON.parse(readFileSync(join(out, 'live', 'run.json'), 'utf8'));
    expect(run.status).toBe('stopped');
    expect(run.progress.step).toBeGreaterThan(pausedAt - 1);
    expect(run.progress.step).toBeLessThan(88000);
  }, 120_000);
});
