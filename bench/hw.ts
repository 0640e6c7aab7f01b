/**
 * Cost-model benchmark, called by bench/bench.ts: a whole 64k-iteration ResNet-74 estimate
 * (cpt:3-8 vs static:8 on bit-fusion-45nm, batch 128), from layer shapes to savings, including
 * building the cost model. Profile loading (file I/O, expression compilation) is measured apart.
 */
import { fileURLToPath } from 'node:url';
import { createCostModel, estimateSchedule, loadProfile } from '../src/hw/index.js';
import { getModelLayers } from '../src/models/paper.js';
import { median } from './common.js';

export async function benchEstimate(runs = 9): Promise<Record<string, unknown>> {
  let t0 = performance.now();
  const profile = loadProfile('bit-fusion-45nm');
  const loadMs = performance.now() - t0;
  const estimate = () =>
    estimateSchedule(createCostModel(profile, getModelLayers('resnet-74'), 128), { schedule: 'cpt:3-8', baseline: 'static:8', iterations: 64_000, bitsGrad: 8 });
  const first = estimate(); // warm-up, not counted
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    t0 = performance.now();
    estimate();
    times.push(performance.now() - t0);
  }
  return {
    bench: 'estimate-resnet74-64k',
    ms: Number(median(times).toFixed(2)),
    minMs: Number(Math.min(...times).toFixed(2)),
    runs,
    profileLoadMs: Number(loadMs.toFixed(2)),
    bitopsSavingsPct: Number(first.savings.bitopsPct.toFixed(3)),
  };
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) {
  benchEstimate().then((r) => process.stdout.write(JSON.stringify(r) + '\n'));
}
