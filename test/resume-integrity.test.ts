/**
 * Nothing lost, nothing silently wrong: resume verifies what it continues (checkpoint identity,
 * rows), --repair says what it drops, divergence ends a run as `diverged`, summaries may hold
 * nulls, a run keeps (and is re-estimated with) its own copy of its profile, options that would
 * change a resumed run are refused. Runs are short digits runs trained in this process.
 */
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { reestimateRun, runOwnProfile } from '../src/analysis/reestimate.js';
import { encodeCheckpoint, readCheckpoint, writeCheckpoint } from '../src/artifacts/checkpoint.js';
import { shippedProfilesDir } from '../src/hw/load.js';
import { listRuns, nextCommand, readRun, readSteps } from '../src/runs/read.js';
import { runSession } from '../src/runs/session.js';
import { RunStore } from '../src/runs/store.js';
import { runMain } from './helpers/cli.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'resume-'));
/** 4 epochs × 44 steps of a small MLP: a fraction of a second. */
const ARGS = ['--model', 'mlp:hidden=32', '--epochs', '4', '--batch-size', '32', '--schedule', 'cpt:3-8:cycles=4', '--checkpoint-interval', '0', '--chunk-steps', '8'];

function lines(file: string): string[] {
  return readFileSync(file, 'utf8').trimEnd().split('\n');
}
/** steps.csv without wall time, evals.csv, the summary without timings, the cost. */
function fingerprint(dir: string) {
  const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  const { wallS: _w, stepsPerSecond: _s, ...summary } = run.summary ?? {};
  return {
    steps: lines(join(dir, 'steps.csv')).map((l) => l.split(',').filter((_, i) => i !== 8).join(',')),
    evals: readFileSync(join(dir, 'evals.csv'), 'utf8'),
    summary,
    cost: run.cost,
    status: run.status,
  };
}

async function train(out: string, name: string, extra: string[] = []) {
  const r = await runMain(['train', ...ARGS, '--out', out, '--name', name, '--json', ...extra]);
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

/** A run stopped cleanly at (about) `steps` steps, mid-epoch. */
async function stoppedRun(out: string, name: string, steps = 100): Promise<string> {
  const control = { stopRequested: false, paused: false };
  const { trainConfig } = await import('../src/cli/train-options.js');
  const flags = {
    model: 'mlp:hidden=32', dataset: 'digits', schedule: 'cpt:3-8:cycles=4', gradBits: '8', epochs: '4', batchSize: '32', lr: '0.1',
    lrSchedule: 'constant', momentum: '0.9', weightDecay: '0.0005', seed: '1', profile: 'bit-fusion-45nm', chunkSteps: '8',
  };
  const result = await runSession(trainConfig(flags), {
    outDir: out, name, control, checkpointIntervalMs: 0,
    onEvent: (e) => {
      if (e.type === 'steps' && e.steps.at(-1)!.step + 1 >= steps) control.stopRequested = true;
    },
  });
  expect(result.status).toBe('stopped');
  return result.runDir;
}

let out: string;
let reference: ReturnType<typeof fingerprint>;
beforeAll(async () => {
  out = tmp();
  await train(out, 'reference');
  reference = fingerprint(join(out, 'reference'));
  expect(reference.status).toBe('completed');
});

describe('resume continues exactly, or refuses naming the file and row', () => {
  it('a stopped run resumes to results identical to an uninterrupted one, bestTestAccuracy included', async () => {
    const dir = await stoppedRun(out, 'plain');
    const r = await runMain(['train', '--resume', dir, '--json']);
    expect(r.status).toBe(0);
    expect(fingerprint(dir)).toEqual(reference);
    // best over the whole run (evals.csv), not only the resumed session's evaluations
    const accs = lines(join(dir, 'evals.csv')).slice(1).map((l) => Number(l.split(',')[3]));
    expect(JSON.parse(r.stdout).bestTestAccuracy).toBe(Math.max(...accs));
  });

  const damage: [string, (dir: string) => void, RegExp][] = [
    ['an unparsable row before the checkpoint', (d) => edit(join(d, 'steps.csv'), (ls) => ls.map((l, i) => (i === 18 ? l.replace(/^17,/, 'x17,') : l))), /steps\.csv line 19: step is not a number \("x17"\)/],
    ['a duplicated row', (d) => edit(join(d, 'steps.csv'), (ls) => [...ls.slice(0, 11), ls[10]!, ...ls.slice(11)]), /steps\.csv line 12: step 9 where step 10 belongs/],
    ['a row with a wrong number of cells', (d) => edit(join(d, 'steps.csv'), (ls) => ls.map((l, i) => (i === 5 ? `${l},1` : l))), /steps\.csv line 6: 22 columns instead of 21/],
    ['a missing evaluation', (d) => edit(join(d, 'evals.csv'), (ls) => ls.slice(0, 2)), /evals\.csv: has 1 rows, the checkpoint needs 2/],
    ['checkpoint step "abc"', (d) => patchCheckpoint(d, { step: 'abc' }), /checkpoint\.safetensors: step "abc" is not a step number/],
    ['checkpoint step 99999', (d) => patchCheckpoint(d, { step: '99999' }), /checkpoint\.safetensors: step 99999 is past the run's 176 steps/],
    ['a checkpoint copied from another run', (d) => copyFileSync(join(out, 'reference', 'checkpoint.safetensors'), join(d, 'checkpoint.safetensors')), /checkpoint\.safetensors: belongs to run "reference", not to this run/],
    ['a checkpoint with another seed', (d) => patchCheckpoint(d, { seed: '7' }), /checkpoint\.safetensors: was written with seed 7, the run's seed is 1/],
    ['a checkpoint missing a tensor', (d) => patchTensors(d, (t) => t.delete('fc2.bias')), /checkpoint\.safetensors: has no tensor fc2\.bias/],
    ['a checkpoint with a wrong-shaped tensor', (d) => patchTensors(d, (t) => t.set('fc1.bias', { shape: [3], data: new Float32Array(3) })), /checkpoint\.safetensors: tensor fc1\.bias has shape 3, the model's is 32/],
    ['a missing checkpoint', (d) => rmSync(join(d, 'checkpoint.safetensors')), /checkpoint\.safetensors: checkpoint not found/],
  ];

  it.each(damage)('%s: exit 2, one line naming file and row, nothing changed', async (what, spoil, message) => {
    const dir = await stoppedRun(out, `damaged-${what.replace(/\W+/g, '-')}`);
    spoil(dir);
    const before = snapshot(dir);
    const r = await runMain(['train', '--resume', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/resume refused, nothing was changed \(bitcycle train --resume .* --repair/);
    expect(snapshot(dir)).toEqual(before);
    expect(existsSync(join(dir, '.lock'))).toBe(false);
  });

  it('--repair goes back to the last consistent point, says what it dropped, and ends identical to the reference', async () => {
    const dir = await stoppedRun(out, 'repair');
    edit(join(dir, 'steps.csv'), (ls) => ls.map((l, i) => (i === 18 ? l.replace(/^17,/, 'x17,') : l)));
    const rows = lines(join(dir, 'steps.csv')).length - 1;
    const r = await runMain(['train', '--resume', dir, '--repair']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^repaired: steps\.csv line 19: step is not a number/m);
    expect(r.stdout).toMatch(new RegExp(`^repaired: restarted from step 0 .*dropped ${rows} step rows and 2 evaluations`, 'm'));
    expect(fingerprint(dir)).toEqual(reference);
  });

  it('rows written after the checkpoint (a crash) are recomputed, not an error', async () => {
    const dir = await stoppedRun(out, 'after-checkpoint');
    const ckptStep = Number(readCheckpoint(join(dir, 'checkpoint.safetensors')).metadata.step);
    // the checkpoint goes back an epoch, as after a crash between checkpoints: rows past it stay
    copyFileSync(join(out, 'reference', 'steps.csv'), join(dir, 'steps.csv'));
    writeFileSync(join(dir, 'steps.csv'), readFileSync(join(dir, 'steps.csv'), 'utf8') + '200,4,3,3'); // a half-written line
    const r = await runMain(['train', '--resume', dir]);
    expect(r.status).toBe(0);
    expect(ckptStep).toBeGreaterThan(0);
    expect(fingerprint(dir)).toEqual(reference);
  });

  it('options that would change a resumed run are refused; --repair needs --resume', async () => {
    const dir = join(out, 'reference');
    for (const args of [['--lr', '0.5'], ['--epochs', '9'], ['--out', 'x'], ['--name', 'y'], ['--profile', 'gpu-a100'], ['--model', 'mlp']]) {
      const r = await runMain(['train', '--resume', dir, ...args]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toMatch(new RegExp(`^bitcycle: ${args[0]}: cannot be given with --resume: a resumed run keeps its own settings`));
    }
    const r = await runMain(['train', '--repair']);
    expect(r.stderr.trim()).toBe('bitcycle: --repair: only goes with --resume <runDir>');
  });

  it('a run held by a live claimant (another resume) is refused; the holder is unaffected', async () => {
    const dir = await stoppedRun(out, 'held');
    const holder = RunStore.open(dir);
    const r = await runMain(['train', '--resume', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/held: run is in use by process \d+ since/);
    holder.release();
    expect((await runMain(['train', '--resume', dir])).status).toBe(0);
  });

  it('a run whose creation was interrupted (status starting, process gone) is listed not-started and --resume starts it', async () => {
    const dir = await stoppedRun(out, 'starting');
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ ...run, status: 'starting', pid: 2 ** 22 + 11, summary: null }));
    // killed before the profile copy and the step-0 checkpoint were written
    rmSync(join(dir, 'checkpoint.safetensors'));
    rmSync(join(dir, run.profileCopy.file));
    const entry = listRuns(out).find((e) => e.name === 'starting')!;
    expect(entry.damaged ? 'damaged' : entry.status).toBe('not-started');
    expect(nextCommand(entry)).toBe(`bitcycle train --resume ${dir}`);
    // `runs` says what to type, relative to the runs directory given
    const runs = await runMain(['runs', out]);
    expect(runs.stdout).toMatch(new RegExp(`^to continue:$[\\s\\S]*^  starting +not-started: bitcycle train --resume ${join(out, 'starting')}$`, 'm'));
    expect((await runMain(['train', '--resume', dir])).status).toBe(0);
    expect(fingerprint(dir)).toEqual(reference);
    expect(existsSync(join(dir, run.profileCopy.file))).toBe(true);
  });
});

describe('divergence', () => {
  it('--lr 1000 stops at the first non-finite loss with status diverged, exit 3; readers accept it; resume is refused', async () => {
    const r = await runMain(['train', ...ARGS, '--lr', '1000', '--out', out, '--name', 'diverged']);
    expect(r.status).toBe(3);
    expect(r.stdout).toMatch(/run diverged: train loss (NaN|-?Infinity) at step \d+/);
    expect(r.stdout).toMatch(/diverged at step \d+: train loss .* try a smaller --lr than 1000/);
    const dir = join(out, 'diverged');
    const run = readRun(dir).run;
    expect(run.status).toBe('diverged');
    const d = run.divergence!;
    expect(d.quantity).toBe('train loss');
    expect(['NaN', 'Infinity', '-Infinity']).toContain(d.value);
    expect(run.summary).toMatchObject({ testAccuracy: null, testLoss: null, finalTrainLoss: null, steps: d.step + 1 });
    const steps = await readSteps(dir);
    expect(steps).toHaveLength(d.step + 1);
    expect(Number.isNaN(steps.at(-1)!.loss)).toBe(true); // the non-finite value is an empty cell; run.json has it as text
    expect(steps.slice(0, -1).every((s) => Number.isFinite(s.loss))).toBe(true);
    // the checkpoint is from before the divergence and finite
    const ckpt = readCheckpoint(join(dir, 'checkpoint.safetensors'));
    expect(Number(ckpt.metadata.step)).toBeLessThanOrEqual(d.step);
    for (const t of ckpt.tensors.values()) expect(t.data.every(Number.isFinite)).toBe(true);
    // listed, not damaged; compare works
    const entry = listRuns(out).find((e) => e.name === 'diverged')!;
    expect(entry.damaged).toBe(false);
    expect((await runMain(['compare', dir, join(out, 'reference')])).status).toBe(0);
    const again = await runMain(['train', '--resume', dir]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/run diverged at step \d+ \(train loss .*\); resuming would diverge again: start a new run with a smaller --lr \(this one was 1000\)/);
  });
});

describe('hostile command lines', () => {
  it.each([
    [['--out', '/proc/x'], /^bitcycle: --out: cannot create directory "\/proc\/x" \(ENOENT\)$/],
    [['--name', '../x'], /^bitcycle: --name: "\.\.\/x" is not a run name/],
    [['--name', '/tmp/abs'], /^bitcycle: --name: "\/tmp\/abs" is not a run name/],
    [['--name', ''], /^bitcycle: --name: "" is not a run name/],
  ])('train %j: exit 2, one line, nothing written outside --out', async (args, message) => {
    const dir = tmp();
    const r = await runMain(['train', ...ARGS, '--out', join(dir, 'runs'), ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('--out that is a file: train and export say so on one line', async () => {
    const file = join(tmp(), 'f');
    writeFileSync(file, 'x');
    for (const command of [['train', ...ARGS], ['export']]) {
      const r = await runMain([...command, '--out', file]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toBe(`bitcycle: --out: cannot create directory "${file}" (ENOTDIR)`);
    }
  });

  it('a taken --name is an error that says how to continue that run, not a silent -2', async () => {
    const r = await runMain(['train', ...ARGS, '--out', out, '--name', 'reference']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`bitcycle: --name: run directory ${join(out, 'reference')} already exists; choose another name, or continue it with: bitcycle train --resume ${join(out, 'reference')}`);
    expect(existsSync(join(out, 'reference-2'))).toBe(false);
  });
});

describe('hostile run directories', () => {
  it('batchSize: 0 or an inconsistent totalSteps in run.json: listed damaged naming the field; resume exits 2 with one line', async () => {
    const dir = join(out, 'zero-batch');
    cpSync(join(out, 'reference'), dir, { recursive: true });
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ ...run, status: 'stopped', config: { ...run.config, batchSize: 0 } }));
    const entry = listRuns(out).find((e) => e.name === 'zero-batch')!;
    expect(entry.damaged && entry.reason).toMatch(/\$\.config\.batchSize/);
    const r = await runMain(['train', '--resume', dir]);
    expect([r.status, r.stderr.trim().split('\n').length]).toEqual([2, 1]);
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ ...run, progress: { ...run.progress, totalSteps: 1e12 } }));
    const huge = listRuns(out).find((e) => e.name === 'zero-batch')!;
    expect(huge.damaged && huge.reason).toMatch(/\$\.progress\.totalSteps: 1000000000000 is not stepsPerEpoch × config\.epochs/);
    rmSync(dir, { recursive: true });
  });

  it('review/re-estimate use the run\'s own profile copy, never the file config.profile names', async () => {
    // a custom profile, found by name through --profiles-dir
    const profiles = tmp();
    const custom = JSON.parse(readFileSync(join(shippedProfilesDir(), 'bit-fusion-45nm.json'), 'utf8'));
    writeFileSync(join(profiles, 'my-npu.json'), JSON.stringify({ ...custom, name: 'my-npu' }, null, 2));
    const json = await train(out, 'custom-profile', ['--profile', 'my-npu', '--profiles-dir', profiles]);
    expect(json.cost.profile).toBe('my-npu');
    rmSync(profiles, { recursive: true }); // the original is gone: the run still has its copy
    const entry = readRun(json.runDir);
    const own = runOwnProfile(entry);
    expect(own.name).toBe('my-npu');
    const again = reestimateRun(entry, await readSteps(json.runDir), own);
    expect(again.cost).toEqual(entry.run.cost);
    // an altered copy is refused, naming it
    const copy = join(json.runDir, entry.run.profileCopy!.file);
    writeFileSync(copy, readFileSync(copy, 'utf8').replace('"my-npu"', '"my-npx"'));
    expect(() => runOwnProfile(readRun(json.runDir))).toThrow(/the run's copy of its profile was altered/);
    // a run without a copy whose config names a path: the path is not read
    const run = JSON.parse(readFileSync(join(json.runDir, 'run.json'), 'utf8'));
    delete run.profileCopy;
    writeFileSync(join(json.runDir, 'run.json'), JSON.stringify({ ...run, config: { ...run.config, profile: '/etc/passwd' } }));
    expect(() => runOwnProfile(readRun(json.runDir))).toThrow(/the run keeps no copy of its profile \(\/etc\/passwd/);
    expect(() => reestimateRun(readRun(json.runDir), [], '/etc/passwd')).toThrow(/re-estimate takes a profile name, not a path/);
  });
});

function edit(file: string, f: (lines: string[]) => string[]): void {
  writeFileSync(file, f(lines(file)).join('\n') + '\n');
}

function patchCheckpoint(dir: string, meta: Record<string, string>): void {
  const file = join(dir, 'checkpoint.safetensors');
  const c = readCheckpoint(file);
  Object.assign(c.metadata, meta);
  writeFileSync(file, encodeCheckpoint(c));
}

function patchTensors(dir: string, f: (t: Map<string, { shape: number[]; data: Float32Array }>) => void): void {
  const file = join(dir, 'checkpoint.safetensors');
  const c = readCheckpoint(file);
  f(c.tensors);
  writeCheckpoint(file, c);
}

function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const f of readdirSync(dir)) if (f !== 'artifacts') files[f] = readFileSync(join(dir, f)).toString('base64');
  return files;
}
