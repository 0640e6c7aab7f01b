/** `runs --csv` and `compare --csv`: one row per run with its config columns, for pandas. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseString } from 'fast-csv';
import { describe, expect, it } from 'vitest';
import { RUN_CSV_COLUMNS } from '../src/analysis/tables.js';
import { runMain } from './helpers/cli.js';
import { makeSyntheticRun, writeSyntheticRun } from './fixtures/synthetic.js';

function parseCsv(text: string): Promise<{ header: string[]; rows: Record<string, string>[] }> {
  return new Promise((resolve, reject) => {
    const rows: string[][] = [];
    parseString(text)
      .on('data', (r: string[]) => rows.push(r))
      .on('error', reject)
      .on('end', () => {
        const [header, ...body] = rows;
        resolve({ header: header!, rows: body.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]!]))) });
      });
  });
}

function runsDir(): { root: string; runs: ReturnType<typeof makeSyntheticRun>[] } {
  const root = mkdtempSync(join(tmpdir(), 'bitcycle-csv-'));
  const runs = [
    makeSyntheticRun({ id: 'a-static8', schedule: 'static:8', seed: 3, epochs: 2, accuracy: 0.9 }),
    makeSyntheticRun({ id: 'b-cpt', schedule: 'cpt:3-8', seed: 4, epochs: 2, accuracy: 0.88 }),
  ];
  // a model spec with a comma, and a hostile dataset name with a control character
  runs[1]!.run.config.model = { name: 'mlp', hidden: [256, 128] };
  runs[1]!.run.config.dataset = 'digits\u001b[2J';
  for (const r of runs) writeSyntheticRun(root, r);
  mkdirSync(join(root, 'c-broken'));
  writeFileSync(join(root, 'c-broken', 'run.json'), '{not json');
  return { root, runs };
}

describe('runs --csv', () => {
  it('one row per run: config columns, outcome and cost in full precision; a damaged run with its reason', async () => {
    const { root, runs } = runsDir();
    const r = await runMain(['runs', root, '--csv']);
    expect(r.status).toBe(0);
    const { header, rows } = await parseCsv(r.stdout);
    expect(header).toEqual([...RUN_CSV_COLUMNS]);
    expect(rows.map((row) => row.name)).toEqual(['a-static8', 'b-cpt', 'c-broken']);
    const [a, b, broken] = rows as [Record<string, string>, Record<string, string>, Record<string, string>];
    const run = runs[0]!.run;
    expect(a).toMatchObject({ schedule: 'static:8', seed: '3', epochs: '2', lr: String(run.config.lr), model: 'mlp:hidden=128', damaged: 'false', reason: '' });
    expect(Number(a.test_accuracy)).toBe(run.summary!.testAccuracy);
    expect(Number(a.energy_j)).toBe(run.cost!.energyJ);
    expect(Number(a.bitops_saving_pct)).toBe(run.cost!.savings.bitopsPct);
    // quoted where needed, and no escape sequence reaches a terminal
    expect(b.model).toBe('mlp:hidden=256,128');
    expect(b.dataset).not.toContain('\u001b');
    expect(b.dataset).toMatch(/^digits/);
    expect(broken.damaged).toBe('true');
    expect(broken.reason).toMatch(/run\.json/);
    expect(broken.test_accuracy).toBe('');
  });

  it('--csv with --json is refused on one line', async () => {
    const r = await runMain(['runs', runsDir().root, '--csv', '--json']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('bitcycle: --csv: cannot be given with --json\n');
  });
});

describe('compare --csv', () => {
  it('the runs given, in order, with whether each is on its Pareto front', async () => {
    const { root } = runsDir();
    const r = await runMain(['compare', join(root, 'b-cpt'), join(root, 'a-static8'), '--csv']);
    expect(r.status).toBe(0);
    const { header, rows } = await parseCsv(r.stdout);
    expect(header).toEqual([...RUN_CSV_COLUMNS, 'pareto_optimal']);
    expect(rows.map((row) => row.name)).toEqual(['b-cpt', 'a-static8']);
    expect(rows.every((row) => row.pareto_optimal === 'true' || row.pareto_optimal === 'false')).toBe(true);
  });
});
