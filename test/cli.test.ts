import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, runMain } from './helpers/cli.js';

const COMMANDS = ['train', 'export', 'prt', 'demo', 'schedule', 'estimate', 'profile', 'review', 'runs', 'compare'];

describe('bin/bitcycle.js, the launcher (a real process)', () => {
  it('--help exits 0 and lists every command; an unknown option exits 2 with its message', () => {
    const help = runCli(['--help']);
    expect(help.status).toBe(0);
    for (const cmd of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${cmd} `, 'm'));
    const bad = runCli(['train', '--bogus']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown option '--bogus'/);
  });
});

describe('bitcycle CLI', () => {
  it('an unknown command or option exits 2', async () => {
    const bogus = await runMain(['bogus']);
    expect(bogus.status).toBe(2);
    expect(bogus.stderr).toMatch(/unknown command 'bogus'/);
    const r = await runMain(['train', '--bogus']);
    expect(r.status).toBe(2);
    // one error style: commander's own errors read like ours, on one line
    expect(r.stderr).toBe("bitcycle: unknown option '--bogus' (run with --help for usage)\n");
    const kernels = await runMain(['train', '--kernels', 'vnni', '--no-dashboard']);
    expect(kernels.status).toBe(2);
    expect(kernels.stderr).toBe('bitcycle: --kernels: expected int or fake, got "vnni"\n');
    const unknown = await runMain(['trian']);
    expect(unknown.stderr).toBe("bitcycle: unknown command 'trian' (Did you mean train?) (run with --help for usage)\n");
  });

  it.each(COMMANDS)('%s --help ends with examples of the command', async (command) => {
    const r = await runMain([command, '--help']);
    expect(r.status).toBe(0);
    const examples = r.stdout.split('\nExamples:\n')[1];
    expect(examples?.trimEnd().split('\n').every((line) => line.startsWith(`  bitcycle ${command}`))).toBe(true);
  });

  it('schedule handles long runs and warns about a range it never reaches', async () => {
    const long = await runMain(['schedule', 'cpt:3-8', '--iterations', '150000', '--json']);
    expect(long.status).toBe(0);
    const json = JSON.parse(long.stdout);
    expect(json.bits).toHaveLength(150000);
    expect([json.min, json.max, json.warning]).toEqual([3, 8, null]);
    const short = await runMain(['schedule', 'cpt:3-8', '--iterations', '64']);
    expect(short.status).toBe(0);
    expect(short.stdout).toMatch(/\(min 3, max 6,/);
    expect(short.stderr).toMatch(/^warning: cpt:3-8: 32 cycles over 64 iterations leave 2 iterations per cycle, so precision only reaches 6 bits/);
  });

  it('schedule prints long schedules as runs of equal bits (bits×count)', async () => {
    const r = await runMain(['schedule', 'cpt:3-8:cycles=2', '--iterations', '6000']);
    expect(r.status).toBe(0);
    const body = r.stdout.split('\n')[1]!;
    expect(body.startsWith('3×')).toBe(true);
    // the runs add up to every iteration
    expect(body.split(' ').reduce((n, run) => n + (run.includes('×') ? Number(run.split('×')[1]) : 1), 0)).toBe(6000);
    expect(body.length).toBeLessThan(200);
    const short = await runMain(['schedule', 'cpt:3-8', '--iterations', '128']);
    expect(short.stdout.split('\n')[1]).toBe(Array(32).fill('3 4 6 7').join(' '));
  });

  it('schedule prints the bits of every iteration', async () => {
    const r = await runMain(['schedule', 'cpt:3-8', '--iterations', '128', '--json']);
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.bits.slice(0, 8)).toEqual([3, 4, 6, 7, 3, 4, 6, 7]);
  });

  it('demo (npm start) trains static:8 and cpt:3-8 and compares them on the default profile', async () => {
    const out = mkdtempSync(join(tmpdir(), 'demo-'));
    const r = await runMain(['demo', '--out', out, '--json', '--quiet']);
    expect(r.status).toBe(0);
    const { runs } = JSON.parse(r.stdout);
    expect(runs).toHaveLength(2);
    expect(readdirSync(out)).toHaveLength(2);
    const [base, cpt] = runs;
    expect(base.cost.profile).toBe('bit-fusion-45nm');
    expect(base.cost.savings.bitopsPct).toBeCloseTo(0, 9);
    expect(cpt.cost.savings.bitopsPct).toBeGreaterThan(5); // 10.8 %: the full-precision classifier (--fp-layers last) is a large share of this small MLP's BitOPs
    expect(cpt.cost.energyJ).toBeLessThan(base.cost.energyJ);
    expect(cpt.testAccuracy).toBeGreaterThan(0.95);
  });
});
