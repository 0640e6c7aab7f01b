import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMain } from './helpers/cli.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'runs');

async function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const r = await runMain(args);
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('non-interactive twins', () => {
  it('runs: a table with damaged runs and their reasons', async () => {
    const { code, out } = await run(['runs', FIXTURES]);
    expect(code).toBe(0);
    expect(out).toMatch(/20261123-120102-mlp-digits-cpt3-8-s1\s+mlp\s+digits\s+cpt:3-8\s+bit-fusion-45nm\s+94\.8 %\s+189 µJ\s+24\.6 %\s+completed/);
    expect(out).toContain('damaged: run.json is not valid JSON');
  });
  it('runs --json: one JSON object', async () => {
    const { out } = await run(['runs', '--json', FIXTURES]);
    const json = JSON.parse(out) as { runs: { name: string; damaged: boolean; reason?: string; testAccuracy?: number }[] };
    expect(json.runs).toHaveLength(10);
    expect(json.runs.filter((r) => r.damaged)).toHaveLength(2);
    expect(json.runs[0]!.testAccuracy).toBeCloseTo(0.948, 3);
  });
  it('compare: side by side, with the Pareto front; --json', async () => {
    const a = join(FIXTURES, '20261123-120102-mlp-digits-cpt3-8-s1');
    const b = '20261123-120230-mlp-digits-static8-s1';
    const text = await run(['compare', a, b, '--runs-dir', FIXTURES]);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/energy savings\s+24\.6 %\s+0\.0 %/);
    expect(text.out).toContain('Pareto front');
    const json = JSON.parse((await run(['compare', a, b, '--runs-dir', FIXTURES, '--json'])).out) as { runs: { schedule: string }[]; paretoFront: string[] };
    expect(json.runs.map((r) => r.schedule)).toEqual(['cpt:3-8', 'static:8']);
    expect(json.paretoFront).toHaveLength(2);
  });
  it('compare: a damaged run is one line and exit code 2', async () => {
    const { code, err } = await run(['compare', join(FIXTURES, '20261123-120900-mlp-digits-cpt3-8-s9')]);
    expect(code).toBe(2);
    expect(err).toMatch(/^bitcycle: .*run\.json is not valid JSON/);
  });
  it('review without a TTY prints the plain table', async () => {
    const { code, out, err } = await run(['review', FIXTURES]);
    expect(code).toBe(0);
    expect(out).toContain('20261123-120102-mlp-digits-cpt3-8-s1');
    expect(err).toContain('not a terminal');
  });
});
