/** Pieces every benchmark section shares: the median, the base run config, the first rows of a data set. */
import { type Dataset, featureSize, subset } from '../src/data/index.js';
import type { RunConfig } from '../src/runs/run-format.js';

/** Median (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * A run config for benchmarks: the digits MLP (64-128-10), cpt:3-8 with 8-bit errors, batch 64,
 * 30 epochs, SGD lr 0.1 with momentum 0.9 and weight decay 5e-4, seed 1, costed on Bit Fusion
 * against static:8 — with `overrides` on top.
 */
export function benchConfig(overrides: Partial<RunConfig> = {}): RunConfig {
  return {
    model: { name: 'mlp', hidden: [128] },
    dataset: 'digits',
    schedule: 'cpt:3-8',
    gradBits: '8',
    evalBits: 8,
    epochs: 30,
    batchSize: 64,
    lr: 0.1,
    lrSchedule: 'constant',
    momentum: 0.9,
    weightDecay: 5e-4,
    seed: 1,
    profile: 'bit-fusion-45nm',
    baseline: 'static:8',
    ...overrides,
  };
}

/** The data set cut to (at most) its first `train` training samples (all when undefined) and first `test` test samples. */
export function firstRows(d: Dataset, train: number | undefined, test: number): Dataset {
  const width = featureSize(d);
  const cut = (split: Dataset['train'], count: number) => subset(split, Uint32Array.from({ length: Math.min(count, split.count) }, (_, i) => i), width);
  return { ...d, train: train === undefined ? d.train : cut(d.train, train), test: cut(d.test, test) };
}
