import { UsageError } from '../errors.js';
import type { Dataset, DatasetLoadOptions } from './dataset.js';
import { loadDigits } from './digits.js';
import { loadFashionMnist } from './fashion.js';

export * from './dataset.js';

export const DATASETS: Record<string, { description: string; load: (o: DatasetLoadOptions) => Dataset }> = {
  digits: { description: 'UCI optical digits 8×8 (stratified 1438 train / 359 test), shipped with bitcycle', load: loadDigits },
  'fashion-mnist': { description: 'Fashion-MNIST 28×28 (60000 / 10000), IDX files from dataset-fashion-mnist or --data-dir', load: loadFashionMnist },
};

export function loadDataset(name: string, options: DatasetLoadOptions = {}): Dataset {
  const entry = Object.hasOwn(DATASETS, name) ? DATASETS[name] : undefined;
  if (!entry) throw new UsageError('--dataset', `unknown data set "${name}" (allowed: ${Object.keys(DATASETS).join(', ')})`);
  return entry.load(options);
}
