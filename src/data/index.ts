import { UsageError } from '../errors.js';
import { loadCifar10 } from './cifar10.js';
import type { Dataset, DatasetLoadOptions } from './dataset.js';
import { loadDigits } from './digits.js';
import { loadFashionMnist } from './fashion.js';
import { loadIdxDataset } from './idx.js';

export * from './dataset.js';

/** What a data set looks like without reading it (for `estimate`); idx depends on its files. */
export interface DatasetGeometry {
  inputShape: number[];
  classes: number;
  trainSamples: number;
}

export const DATASETS: Record<string, { description: string; load: (o: DatasetLoadOptions) => Dataset; geometry?: DatasetGeometry }> = {
  digits: { description: 'UCI optical digits 8×8 (stratified 1438 train / 359 test), shipped with bitcycle', load: loadDigits, geometry: { inputShape: [64], classes: 10, trainSamples: 1438 } },
  'fashion-mnist': {
    description: 'Fashion-MNIST 28×28 grey (60000 / 10000), IDX files from dataset-fashion-mnist or --data-dir',
    load: loadFashionMnist,
    geometry: { inputShape: [1, 28, 28], classes: 10, trainSamples: 60_000 },
  },
  idx: { description: 'any image classification set in the MNIST layout (train-/t10k-images-idx3-ubyte, train-/t10k-labels-idx1-ubyte, optionally .gz) in --data-dir', load: loadIdxDataset },
  cifar10: { description: 'CIFAR-10 32×32 colour (50000 / 10000), binary version (data_batch_1..5.bin, test_batch.bin) in --data-dir; per-channel normalised, random crop and flip in training', load: loadCifar10, geometry: { inputShape: [3, 32, 32], classes: 10, trainSamples: 50_000 } },
};

export function loadDataset(name: string, options: DatasetLoadOptions = {}): Dataset {
  const entry = Object.hasOwn(DATASETS, name) ? DATASETS[name] : undefined;
  if (!entry) throw new UsageError('--dataset', `unknown data set "${name}" (allowed: ${Object.keys(DATASETS).join(', ')})`);
  return entry.load(options);
}
