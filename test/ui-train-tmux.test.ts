/**
 * `bitcycle train` with the live dashboard in a real terminal (tmux, `env -u CI`: Ink draws every
 * frame): at 80×24 the title stays on screen and the result lines after the run start on lines of
 * their own; SIGTERM sent to the node process stops the run cleanly (checkpoint, `stopped`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect } from 'vitest';
import { BIN } from './helpers/cli.js';
import { TMUX, systemIt } from './helpers/system.js';
import { TmuxPane } from './helpers/tmux.js';

const HINTS = 'p pause/resume · q stop · b breakdown · ? help';
let pane = new TmuxPane('');
let out = '';

function start(name: string, args: string, columns: number, rows: number): void {
  pane = new TmuxPane(`bitcycle-ui-train-${process.pid}-${name}`);
  out = mkdtempSync(join(tmpdir(), 'bitcycle-ui-train-'));
  const command = `env -u CI '${process.execPath}' '${BIN}' train --out '${out}' --name ${name} ${args}; echo "__EXIT__$?"; sleep 60`;
  pane.start(command, columns, rows);
}

/** Pids whose parent is `ppid` (from /proc). */
function children(ppid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces, so parse after the last ')'
      const ppidField = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppidField === ppid) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

describe('bitcycle train dashboard in a terminal', () => {
  afterEach(() => {
    pane.kill();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  systemIt(TMUX, 'at 80×24 the title line stays visible, and the result lines start on lines of their own', async () => {
    start('small', '--epochs 400', 80, 24);
    // every complete frame on screen (the key hints its last line) has the title on its first lines
    let framesSeen = 0;
    let runningSeen = 0;
    const deadline = Date.now() + 90_000;
    for (;;) {
      const screen = pane.capture();
      if (screen.includes('__EXIT__')) break;
      const lines = screen.split('\n').map((l) => l.trimEnd());
      const last = lines.filter((l) => l !== '').at(-1);
      if (last === HINTS && screen.includes('Precision schedule')) {
        expect(lines.slice(0, 2).some((l) => /^bitcycle train small {2}\[/.test(l)), `title not on the first lines:\n${screen}`).toBe(true);
        framesSeen++;
        if (screen.includes('[running]')) runningSeen++;
      }
      if (Date.now() > deadline) throw new Error(`no end; screen was:\n${screen}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(runningSeen).toBeGreaterThan(0);
    expect(framesSeen).toBeGreaterThan(0);
    await pane.waitText('__EXIT__0');
    const all = pane.capture(true).split('\n').map((l) => l.trimEnd());
    // the sign of life came first, on its own line
    const preparing = all.findIndex((l) => l.startsWith('bitcycle: preparing the run'));
    const title = all.findIndex((l) => /^bitcycle train small {2}\[/.test(l));
    expect(preparing).toBeGreaterThanOrEqual(0);
    expect(preparing).toBeLessThan(title);
    // the last frame ends with the key hints; the result follows on fresh lines, at column 0
    const result = all.findIndex((l) => l.startsWith('run small completed: test accuracy'));
    expect(result, all.join('\n')).toBeGreaterThan(0);
    expect(all[result - 1]).toBe(HINTS);
    expect(all[result - 2]).toMatch(/^Run completed — test acc/);
    expect(all[result + 1]).toMatch(/^cost on bit-fusion-45nm: energy /);
    expect(all[result + 2]).toMatch(/^run directory: /);
    expect(all.filter((l) => l.includes(HINTS)).every((l) => l === HINTS)).toBe(true);
  }, 120_000);

  systemIt(TMUX, 'SIGTERM to the node process stops the run cleanly: checkpoint written, run.json stopped, exit 0', async () => {
    start('sig', '--epochs 4000', 100, 40);
    await pane.waitText('[running]');
    await pane.waitText(/ \d{3,}\/88000 /);
    const panePid = Number(execFileSync('tmux', ['display-message', '-p', '-t', pane.session, '#{pane_pid}'], { encoding: 'utf8' }).trim());
    const node = children(panePid).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(BIN);
      } catch {
        return false;
      }
    });
    expect(node).toHaveLength(1);
    process.kill(node[0]!, 'SIGTERM');
    const screen = await pane.waitText('__EXIT__');
    expect(screen).toContain('__EXIT__0');
    expect(screen).toMatch(/Run stopped at step \d+/);
    expect(screen).toMatch(/^run sig stopped: test accuracy/m);
    const run = JSON.parse(readFileSync(join(out, 'sig', 'run.json'), 'utf8')) as { status: string; progress: { step: number } };
    expect(run.status).toBe('stopped');
    expect(run.progress.step).toBeGreaterThan(0);
    expect(run.progress.step).toBeLessThan(88000);
    // the checkpoint is the stop's: its step is the run's
    const file = readFileSync(join(out, 'sig', 'checkpoint.safetensors'));
    const headerLength = Number(file.readBigUInt64LE(0));
    const header = JSON.parse(file.subarray(8, 8 + headerLength).toString('utf8')) as { __metadata__: { step: string } };
    expect(Number(header.__metadata__.step)).toBe(run.progress.step);
  }, 120_000);
});
