/**
 * Fashion-MNIST from IDX files: by default the Debian package `dataset-fashion-mnist`
 * (/usr/share/datasets/fashion-mnist), or `--data-dir`. 28×28 single-channel images, shape
 * [1, 28, 28], values /255, 10 classes.
 */
import type { Dataset, DatasetLoadOptions } from './dataset.js';
import { loadIdxImages } from './idx.js';

export const FASHION_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

export function loadFashionMnist(options: DatasetLoadOptions = {}): Dataset {
  const dir = options.dataDir ?? FASHION_DEFAULT_DIR;
  const images = loadIdxImages(dir, {
    missing: (base) => `install the Debian package dataset-fashion-mnist, or pass --data-dir with ${base}[.gz]`,
    classes: 10,
    expect: { shape: [1, 28, 28], what: 'Fashion-MNIST' },
  });
  return { name: 'fashion-mnist', source: dir, ...images };
}
