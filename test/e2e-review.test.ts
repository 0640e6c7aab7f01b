/**
 * End to end: `bitcycle review` in a real terminal (tmux), driven by keys, read with capture-pane.
 * Ink renders only the last frame under CI=true, so the app runs with `env -u CI`.
 */
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { TMUX, systemIt } from './helpers/system.js';
import { TmuxPane } from './helpers/tmux.js';

const ROOT = join(import.meta.dirname, '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'runs');

const pane = new TmuxPane(`bitcycle-e2e-${process.pid}`);

describe('bitcycle review in tmux', () => {
  afterAll(() => {
    pane.kill();
  });

  systemIt(TMUX, 'navigates, opens a run, marks two runs, compares, goes back and quits', async () => {
    const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
    const command = `cd '${ROOT}' && env -u CI '${tsx}' src/cli/main.ts review '${FIXTURES}'; echo "__EXIT__$?"; sleep 60`;
    pane.start(command, 130, 50);

    await pane.waitText(/10 runs · 10 shown · 0 marked · 2 damaged/, 30000);
    await pane.waitText('Enter open');
    pane.send('j');
    await pane.waitText(/›\s+20261123-121100-mlp-digits-cpt3-8-s4/);
    pane.send('k');
    await pane.waitText(/›\s+20261123-120102-mlp-digits-cpt3-8-s1/);

    pane.send('Enter');
    let screen = await pane.waitText('Cost on bit-fusion-45nm (baseline static:8)');
    screen = await pane.waitText(/weight grad\s+[\d.]+ µJ/);
    expect(screen).toContain('20261123-120102-mlp-digits-cpt3-8-s1  [completed]');
    expect(screen).toContain('Precision schedule');
    expect(screen).toContain('Accuracy');

    pane.send('q');
    await pane.waitText('Enter open');
    pane.send('Space'); // marks and moves to the next run
    await pane.waitText('1 marked');
    pane.send('j');
    await pane.waitText(/›\s+20261123-120230-mlp-digits-static8-s1/);
    pane.send('Space');
    await pane.waitText('2 marked');

    pane.send('c');
    screen = await pane.waitText('Compare 2 runs');
    screen = await pane.waitText(/energy savings\s+24\.6 %\s+0\.0 %/);
    expect(screen).toMatch(/schedule\s+cpt:3-8\s+static:8/);
    await pane.waitText('Test accuracy');

    pane.send('q');
    await pane.waitText('2 marked');
    pane.send('q');
    await pane.waitText('__EXIT__0');
  }, 90000);
});
