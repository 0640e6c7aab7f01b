import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { type RunConfig, STEPS_HEADER, stepRow } from '../src/runs/run-format.js';
import { initialCheckpoint, readCheckpoint } from '../src/artifacts/checkpoint.js';
import { UsageError } from '../src/errors.js';
import { createModel } from '../src/models/registry.js';
import { LOCK_FILE, lockHolder, RunLock } from '../src/runs/lock.js';
import { RunStore } from '../src/runs/store.js';
import { writeFileAtomic } from '../src/util/fs.js';

const config: RunConfig = {
  model: { name: 'mlp', hidden: [128] }, dataset: 'digits', schedule: 'cpt:3-8', gradBits: '8', evalBits: 8, epochs: 1, batchSize: 64, lr: 0.1,
  lrSchedule: 'constant', momentum: 0.9, weightDecay: 0, seed: 1, profile: 'none', baseline: 'static:8',
};
config.epochs = 2;

const model = createModel(config.model, [64], 10);
const init = { config, versions: {}, modelId: 'm', datasetSource: 'd', progress: { step: 0, totalSteps: 10, epoch: 0, stepsPerEpoch: 5 }, layers: [] };
const initial = (runId: string) => {
  const c = initialCheckpoint(model, 1);
  c.metadata.runId = runId;
  return c;
};

async function newStore(name: string | null = 'r', out = mkdtempSync(join(tmpdir(), 'store-'))) {
  const store = await RunStore.create(out, init, { name: name ?? undefined, initial });
  return { out, store };
}

const rows = (...steps: number[]) => steps.map((i) => stepRow(step(i), null));
const step = (i: number) => ({ step: i, epoch: Math.floor(i / 5), bitsWeights: 3, bitsActivations: 3, bitsGrad: 8, formatWeights: 'int3', formatActivations: 'int3', formatGrad: 'int8', lr: 0.1, loss: 1 / (i + 1), trainAcc: 0.5, wallMs: i });

describe('run store', () => {
  it('writes CSV with fast-csv: header, one row per step, final newline; empty cost cells without a profile', async () => {
    const { store } = await newStore();
    await store.appendStepRows(rows(0, 1));
    const text = readFileSync(store.stepsFile, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe(STEPS_HEADER.join(','));
    expect(lines[2]).toBe('1,0,3,3,8,0.1,0.5,0.5,1.000,,,,,int3,int3,int8,,,,,');
  });

  it('rewriteRows keeps exactly the given lines, atomically (no temp files left)', async () => {
    const { store } = await newStore();
    await store.appendStepRows(rows(0, 1, 2));
    store.rewriteRows(['0,0,3,3,8,0.1,1,0.5,0.000,,,,,int3,int3,int8'], []);
    expect(readFileSync(store.stepsFile, 'utf8')).toBe(`${STEPS_HEADER.join(',')}\n0,0,3,3,8,0.1,1,0.5,0.000,,,,,int3,int3,int8\n`);
    expect(readFileSync(store.evalsFile, 'utf8')).toBe('epoch,step,test_loss,test_acc,bits\n');
    expect(readdirSync(store.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('create writes run.json, headers and the step-0 checkpoint (with the run id) before the run is `running`', async () => {
    const { store } = await newStore();
    expect(store.run.status).toBe('running');
    const ckpt = readCheckpoint(store.checkpointFile);
    expect(ckpt.metadata).toMatchObject({ step: '0', runId: 'r', seed: '1' });
    expect(JSON.parse(readFileSync(join(store.dir, 'run.json'), 'utf8')).status).toBe('running');
  });

  it('an existing --name is an error naming the option and the way to continue it; nothing is overwritten', async () => {
    const { out, store } = await newStore();
    const before = readFileSync(join(store.dir, 'run.json'), 'utf8');
    await expect(newStore('r', out)).rejects.toThrow(/^--name: run directory .*r already exists; choose another name, or continue it with: bitcycle train --resume /);
    expect(readFileSync(join(store.dir, 'run.json'), 'utf8')).toBe(before);
  });

  it('generated ids get a suffix when taken; open() claims the run and reads it back', async () => {
    const out = mkdtempSync(join(tmpdir(), 'store-'));
    // both ids from the same second (the clock could tick between the two otherwise)
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-11-24T12:00:00Z') });
    let a: RunStore;
    let b: RunStore;
    try {
      a = (await newStore(null, out)).store;
      b = (await newStore(null, out)).store;
    } finally {
      vi.useRealTimers();
    }
    expect(b.id).toBe(`${a.id}-2`);
    a.release();
    const opened = RunStore.open(a.dir);
    expect(opened.run.config).toEqual({ ...config, fpLayers: config.fpLayers ?? 'none', kernels: config.kernels ?? 'fake' });
    opened.release();
  });

  it.each([['../x'], ['/tmp/abs'], [''], ['.'], ['..'], ['a/b'], ['-flag'], ['x\u001b[2J']])('--name %j is refused with one line (no path outside --out)', async (name) => {
    const out = mkdtempSync(join(tmpdir(), 'store-'));
    const err = await newStore(name, out).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/^--name: .* is not a run name/);
    expect((err as Error).message).not.toMatch(/[\n\u001b]/);
    expect(readdirSync(out)).toEqual([]);
    expect(existsSync(join(out, '..', 'x'))).toBe(false);
  });

  it('--out that is a file, or cannot be created, is a one-line --out error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'store-'));
    const file = join(dir, 'f');
    writeFileSync(file, 'x');
    await expect(newStore('r', file)).rejects.toThrow(/^--out: /);
    await expect(newStore('r', join(file, 'sub'))).rejects.toThrow(/^--out: cannot create directory/);
    await expect(newStore('r', '/proc/x')).rejects.toThrow(/^--out: /);
  });

  it('a claimed run cannot be claimed again while its owner lives; a stale lock (dead pid) is broken', async () => {
    const { store } = await newStore();
    expect(lockHolder(store.dir)?.pid).toBe(process.pid);
    expect(() => RunStore.open(store.dir)).toThrow(/run is in use by process \d+ since/);
    store.release();
    expect(lockHolder(store.dir)).toBeNull();
    // a crashed owner: a pid that does not exist
    writeFileSync(join(store.dir, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 17, host: (await import('node:os')).hostname(), claimedAt: 'then' }));
    const lock = RunLock.acquire(store.dir);
    expect(lockHolder(store.dir)?.pid).toBe(process.pid);
    lock.release();
  });

  it('a new run is assembled in a hidden staging directory and renamed into place; a dead creator\'s staging is removed', async () => {
    const out = mkdtempSync(join(tmpdir(), 'store-'));
    const abandoned = join(out, `.r.${2 ** 22 + 5}.1.creating`);
    mkdirSync(abandoned);
    writeFileSync(join(abandoned, 'run.json'), '{}');
    const { store } = await newStore('r', out);
    expect(readdirSync(out)).toEqual(['r']);
    // everything a reader needs is there the moment the directory is visible
    expect(readdirSync(store.dir).sort()).toEqual(['.lock', 'checkpoint.safetensors', 'evals.csv', 'run.json', 'steps.csv']);
    store.release();
    expect(readdirSync(store.dir)).not.toContain('.lock');
  });

  it('open() removes temp files of interrupted atomic writes', async () => {
    const { store } = await newStore();
    store.release();
    writeFileSync(join(store.dir, '.run.json.999999.3.tmp'), 'half');
    const opened = RunStore.open(store.dir);
    expect(readdirSync(store.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    opened.release();
  });

  it('open() of a damaged run.json names the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'store-'));
    writeFileAtomic(join(dir, 'run.json'), '{"formatVersion": 1, "config"');
    expect(() => RunStore.open(dir)).toThrow(/run\.json is not valid JSON/);
  });
});
