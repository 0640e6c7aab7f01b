/**
 * End to end: `bitcycle review` in a real terminal (tmux), driven by keys, read with capture-pane.
 * Ink renders only the last frame under CI=true, so the app runs with `env -u CI`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { TMUX, systemIt } from './helpers/system.js';

const ROOT = join(import.meta.dirname, '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'runs');

const session = `bitcycle-e2e-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
const capture = () => tmux('capture-pane', '-p', '-t', session);
const send = (key: string) => tmux('send-keys', '-t', session, key);

async function waitFor(predicate: (screen: string) => boolean, what: string, timeoutMs = 15000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let screen = '';
  while (Date.now() < deadline) {
    try {
      screen = capture();
    } catch {
      screen = '';
    }
    if (predicate(screen)) return screen;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; screen was:\n${screen}`);
}
const waitText = (text: string | RegExp, timeoutMs?: number) =>
  waitFor((s) => (typeof text === 'string' ? s.includes(text) : text.test(s)), String(text), timeoutMs);

describe('bitcycle review in tmux', () => {
  afterAll(() => {
    spawnSync('tmux', ['kill-session', '-t', session], { stdio: 'ignore' });
  });

  systemIt(TMUX, 'navigates, opens a run, marks two runs, compares, goes back and quits', async () => {
    const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
    const command = `cd '${ROOT}' && env -u CI '${tsx}' src/cli/main.ts review '${FIXTURES}'; echo "__EXIT__$?"; sleep 60`;
    tmux('new-session', '-d', '-s', session, '-x', '130', '-y', '50', command);

    await waitText(/10 runs · 10 shown · 0 marked · 2 damaged/, 30000);
    await waitText('Enter open');
    send('j');
    await waitText(/›\s+20261123-121100-mlp-digits-cpt3-8-s4/);
    send('k');
    await waitText(/›\s+20261123-120102-mlp-digits-cpt3-8-s1/);

    send('Enter');
    let screen = await waitText('Cost on bit-fusion-45nm (baseline static:8)');
    screen = await waitText(/weight grad\s+[\d.]+ µJ/);
    expect(screen).toContain('20261123-120102-mlp-digits-cpt3-8-s1  [completed]');
    expect(screen).toContain('Precision schedule');
    expect(screen).toContain('Accuracy');

    send('q');
    await waitText('Enter open');
    send('Space'); // marks and moves to the next run
    await waitText('1 marked');
    send('j');
    await waitText(/›\s+20261123-120230-mlp-digits-static8-s1/);
    send('Space');
    await waitText('2 marked');

    send('c');
    screen = await waitText('Compare 2 runs');
    screen = await waitText(/energy savings\s+24\.6 %\s+0\.0 %/);
    expect(screen).toMatch(/schedule\s+cpt:3-8\s+static:8/);
    await waitText('Test accuracy');

    send('q');
    await waitText('2 marked');
    send('q');
    await waitText('__EXIT__0');
  }, 90000);
});
