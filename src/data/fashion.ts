/**
 * Fashion-MNIST from IDX files: by default the Debian package `dataset-fashion-mnist`
 * (/usr/share/datasets/fashion-mnist), or `--data-dir`. 28×28 images flattened to 784 features /255.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import type { Dataset, DatasetLoadOptions, Split } from './dataset.js';
import { readIdx } from './idx.js';

export const FASHION_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

function findFile(dir: string, base: string): string {
  for (const name of [`${base}.gz`, base]) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw new DataError(join(dir, `${base}.gz`), `file not found (install the Debian package dataset-fashion-mnist, or pass --data-dir with ${base}[.gz])`);
}

function loadSplit(dir: string, prefix: 'train' | 't10k'): Split {
  const imagesFile = findFile(dir, `${prefix}-images-idx3-ubyte`);
  const labelsFile = findFile(dir, `${prefix}-labels-idx1-ubyte`);
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  if (images.dims.length !== 3) throw new DataError(imagesFile, `expected a rank-3 image array, got rank ${images.dims.length}`);
  if (images.dims[1] !== 28 || images.dims[2] !== 28) throw new DataError(imagesFile, `expected 28×28 images (Fashion-MNIST), got ${images.dims[1]}×${images.dims[2]}`);
  if (images.dims[0] === 0) throw new DataError(imagesFile, 'holds no images');
  if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) throw new DataError(labelsFile, `expected ${images.dims[0]} labels, got ${labels.dims.join('×')}`);
  const x = new Float32Array(images.data.length);
  for (let i = 0; i < x.length; i++) x[i] = images.data[i]! / 255;
  const y = new BigInt64Array(labels.data.length);
  for (let i = 0; i < y.length; i++) {
    if (labels.data[i]! > 9) throw new DataError(labelsFile, `label ${i} is ${labels.data[i]}, expected 0..9`);
    y[i] = BigInt(labels.data[i]!);
  }
  return { x, y, count: y.length };
}

export function loadFashionMnist(options: DatasetLoadOptions = {}): Dataset {
  const dir = options.dataDir ?? FASHION_DEFAULT_DIR;
  const train = loadSplit(dir, 'train');
  const test = loadSplit(dir, 't10k');
  return { name: 'fashion-mnist', source: dir, inputShape: [784], classes: 10, train, test };
}
