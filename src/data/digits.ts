/**
 * UCI optical digits (8×8, 1797 samples, features 0..16 → /16), shipped in models/data.
 * Fixed, stratified 80/20 split: rows are permuted with a constant seed (independent of the run
 * seed) and, class by class, the first 80 % (rounded) go to train and the rest to test
 * (1438 train / 359 test).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { DataError } from '../errors.js';
import { Rng, permutation } from '../util/random.js';
import { type Dataset, type DatasetLoadOptions, type Split, subset } from './dataset.js';

export const DIGITS_FILE = 'digits.csv.gz';
const SPLIT_SEED = 1;
const FEATURES = 64;

export function defaultDataDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'data');
}

export function parseDigitsCsv(text: string, file: string): Split {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const x = new Float32Array(lines.length * FEATURES);
  const y = new BigInt64Array(lines.length);
  lines.forEach((line, row) => {
    const cells = line.split(',');
    if (cells.length !== FEATURES + 1) throw new DataError(file, `line ${row + 1}: expected ${FEATURES + 1} columns (64 features and a label), got ${cells.length}`);
    for (let j = 0; j <= FEATURES; j++) {
      const v = Number(cells[j]);
      const max = j < FEATURES ? 16 : 9;
      if (!Number.isInteger(v) || v < 0 || v > max) {
        throw new DataError(file, `line ${row + 1}, column ${j + 1}: expected an integer in 0..${max}, got "${cells[j]}"`);
      }
      if (j < FEATURES) x[row * FEATURES + j] = v / 16;
      else y[row] = BigInt(v);
    }
  });
  return { x, y, count: lines.length };
}

export function loadDigits(options: DatasetLoadOptions = {}): Dataset {
  const file = join(options.dataDir ?? defaultDataDir(), DIGITS_FILE);
  let text: string;
  try {
    text = gunzipSync(readFileSync(file)).toString('utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read: ${(err as Error).message}`;
    throw new DataError(file, `${reason} (the digits data set ships in models/data; --data-dir points elsewhere)`);
  }
  const all = parseDigitsCsv(text, file);
  const order = permutation(all.count, new Rng(SPLIT_SEED));
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  for (const row of order) byClass[Number(all.y[row])]!.push(row);
  const trainRows: number[] = [];
  const testRows: number[] = [];
  for (const rows of byClass) {
    const nTrain = Math.round(rows.length * 0.8);
    trainRows.push(...rows.slice(0, nTrain));
    testRows.push(...rows.slice(nTrain));
  }
  return {
    name: 'digits',
    source: file,
    inputShape: [FEATURES],
    classes: 10,
    train: subset(all, trainRows, FEATURES),
    test: subset(all, testRows, FEATURES),
  };
}
