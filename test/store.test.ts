import { appendFileSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type RunConfig, STEPS_HEADER, stepRow } from '../src/runs/run-format.js';
import { RunStore } from '../src/runs/store.js';
import { writeFileAtomic } from '../src/util/fs.js';

const config: RunConfig = {
  model: { name: 'mlp', hidden: [128] }, dataset: 'digits', schedule: 'cpt:3-8', gradBits: '8', evalBits: 8, epochs: 1, batchSize: 64, lr: 0.1,
  lrSchedule: 'constant', momentum: 0.9, weightDecay: 0, seed: 1, profile: 'none', baseline: 'static:8',
};

async function newStore() {
  const out = mkdtempSync(join(tmpdir(), 'store-'));
  const store = await RunStore.create(out, { config, versions: {}, modelId: 'm', datasetSource: 'd', progress: { step: 0, totalSteps: 10, epoch: 0, stepsPerEpoch: 5 }, layers: [] }, 'r');
  return { out, store };
}

const rows = (...steps: number[]) => steps.map((i) => stepRow(step(i), null));
const step = (i: number) => ({ step: i, epoch: Math.floor(i / 5), bitsWeights: 3, bitsActivations: 3, bitsGrad: 8, lr: 0.1, loss: 1 / (i + 1), trainAcc: 0.5, wallMs: i });

describe('run store', () => {
  it('writes CSV with fast-csv: header, one row per step, final newline; empty cost cells without a profile', async () => {
    const { store } = await newStore();
    await store.appendStepRows(rows(0, 1));
    const text = readFileSync(store.stepsFile, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe(STEPS_HEADER.join(','));
    expect(lines[2]).toBe('1,0,3,3,8,0.1,0.5,0.5,1.000,,,,');
  });

  it('truncateTo drops rows after the checkpoint and a half-written last line, atomically', async () => {
    const { store } = await newStore();
    await store.appendStepRows(rows(0, 1, 2, 3, 4, 5, 6));
    await store.appendEval({ epoch: 0, step: 5, testLoss: 0.3, testAcc: 0.9, bits: 8 });
    await store.appendEval({ epoch: 1, step: 10, testLoss: 0.2, testAcc: 0.95, bits: 8 });
    appendFileSync(store.stepsFile, '7,1,3,3'); // killed mid-write
    store.truncateTo(5);
    expect(readFileSync(store.stepsFile, 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[0]))).toEqual([0, 1, 2, 3, 4]);
    expect(readFileSync(store.evalsFile, 'utf8').trim().split('\n')).toEqual(['epoch,step,test_loss,test_acc,bits', '0,5,0.3,0.9,8']);
    expect(readdirSync(store.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a second run with the same name gets a suffix; open() reads it back', async () => {
    const { out, store } = await newStore();
    const again = await RunStore.create(out, { config, versions: {}, modelId: 'm', datasetSource: 'd', progress: { step: 0, totalSteps: 10, epoch: 0, stepsPerEpoch: 5 }, layers: [] }, 'r');
    expect(again.id).toBe('r-2');
    expect(RunStore.open(store.dir).run.config).toEqual(config);
  });

  it('open() of a damaged run.json names the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'store-'));
    writeFileAtomic(join(dir, 'run.json'), '{"formatVersion": 1, "config"');
    expect(() => RunStore.open(dir)).toThrow(/run\.json is not valid JSON/);
  });
});
