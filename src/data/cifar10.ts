/**
 * CIFAR-10, binary version (cifar-10-binary.tar.gz), from --data-dir: data_batch_1.bin …
 * data_batch_5.bin (train, 50000) and test_batch.bin (10000). Each file is a sequence of 3073-byte
 * records: a label byte 0..9, then the 32×32 red, green and blue planes (row-major), which is
 * already the sample layout [3, 32, 32]. Values /255 are normalised per channel with the mean and
 * (population) std of the training split; training samples get a random 4-pixel-padded crop and
 * horizontal flip.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { cropAndFlip } from './augment.js';
import { type Dataset, type DatasetLoadOptions, type Split, requireDataDir } from './dataset.js';

export const CIFAR10_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
export const CIFAR10_TEST_FILE = 'test_batch.bin';
export const CIFAR10_PAD = 4;

const CHANNELS = 3;
const PLANE = 32 * 32;
const PIXELS = CHANNELS * PLANE;
const RECORD = 1 + PIXELS;
const CLASSES = 10;
const CHANNEL_NAMES = ['red', 'green', 'blue'];
const LAYOUT = 'data_batch_1.bin … data_batch_5.bin and test_batch.bin, the CIFAR-10 binary version';
const RECORD_TEXT = `${RECORD}-byte records: a label byte 0..${CLASSES - 1}, then 1024 red, 1024 green and 1024 blue bytes`;

/** One batch file's bytes, checked: a whole number of records (at least one), labels 0..9. */
function readBatch(file: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(file, code === 'ENOENT' ? `file not found (--dataset cifar10 reads ${LAYOUT}, from --data-dir)` : `cannot read: ${(err as Error).message}`);
  }
  if (bytes.length === 0) throw new DataError(file, `empty; expected ${RECORD_TEXT}`);
  if (bytes.length % RECORD !== 0) {
    throw new DataError(file, `${bytes.length} bytes is not a whole number of ${RECORD_TEXT} (record ${Math.floor(bytes.length / RECORD)} is cut off after ${bytes.length % RECORD} bytes)`);
  }
  for (let r = 0; r < bytes.length / RECORD; r++) {
    const label = bytes[r * RECORD]!;
    if (label >= CLASSES) throw new DataError(file, `record ${r} has label ${label}, expected 0..${CLASSES - 1}`);
  }
  return bytes;
}

/** Per-channel mean and std of the /255 values, from a histogram of byte values per channel. */
function channelStatistics(histogram: Float64Array, dir: string): { mean: number[]; std: number[] } {
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < CHANNELS; c++) {
    const h = histogram.subarray(c * 256, (c + 1) * 256);
    let n = 0;
    let sum = 0;
    for (let v = 0; v < 256; v++) {
      n += h[v]!;
      sum += h[v]! * (v / 255);
    }
    const m = sum / n;
    let squares = 0;
    for (let v = 0; v < 256; v++) squares += h[v]! * (v / 255 - m) ** 2;
    const s = Math.sqrt(squares / n);
    if (s === 0) throw new DataError(dir, `the ${CHANNEL_NAMES[c]} channel has the same value ${Math.round(m * 255)} in every training image; per-channel normalisation needs some variation`);
    mean.push(m);
    std.push(s);
  }
  return { mean, std };
}

/** The files' records as one split, each byte mapped through `table[channel · 256 + byte]`. */
function convert(files: string[], counts: number[], table: Float32Array): Split {
  const count = counts.reduce((a, b) => a + b, 0);
  const x = new Float32Array(count * PIXELS);
  const y = new BigInt64Array(count);
  let row = 0;
  files.forEach((file, i) => {
    const bytes = readBatch(file);
    if (bytes.length / RECORD !== counts[i]) throw new DataError(file, 'changed while being read');
    for (let r = 0; r < counts[i]!; r++, row++) {
      const record = r * RECORD;
      y[row] = BigInt(bytes[record]!);
      const out = row * PIXELS;
      for (let k = 0; k < PIXELS; k++) x[out + k] = table[((k / PLANE) | 0) * 256 + bytes[record + 1 + k]!]!;
    }
  });
  return { x, y, count };
}

const fixed = (values: number[]) => values.map((v) => v.toFixed(4)).join(', ');

export function loadCifar10(options: DatasetLoadOptions = {}): Dataset {
  const dir = requireDataDir(options, 'cifar10', LAYOUT);
  const trainFiles = CIFAR10_TRAIN_FILES.map((f) => join(dir, f));
  const testFile = join(dir, CIFAR10_TEST_FILE);
  // pass 1: check every file and gather the training statistics (one file in memory at a time)
  const histogram = new Float64Array(CHANNELS * 256);
  const trainCounts = trainFiles.map((file) => {
    const bytes = readBatch(file);
    for (let record = 0; record < bytes.length; record += RECORD) {
      for (let k = 0; k < PIXELS; k++) histogram[((k / PLANE) | 0) * 256 + bytes[record + 1 + k]!]!++;
    }
    return bytes.length / RECORD;
  });
  const testCount = readBatch(testFile).length / RECORD;
  const normalization = channelStatistics(histogram, dir);
  const table = new Float32Array(CHANNELS * 256);
  for (let c = 0; c < CHANNELS; c++) {
    for (let v = 0; v < 256; v++) table[c * 256 + v] = (v / 255 - normalization.mean[c]!) / normalization.std[c]!;
  }
  // pass 2: the normalised splits
  const train = convert(trainFiles, trainCounts, table);
  const test = convert([testFile], [testCount], table);
  // torchvision pads before normalising: the padding is what a raw 0 byte becomes
  const padValues = Array.from({ length: CHANNELS }, (_, c) => table[c * 256]!);
  return {
    name: 'cifar10',
    source: `${dir} (normalised per channel with the training split's mean ${fixed(normalization.mean)} and std ${fixed(normalization.std)})`,
    inputShape: [CHANNELS, 32, 32],
    classes: CLASSES,
    train,
    test,
    normalization,
    augment: (src, dst, key) => cropAndFlip(src, dst, CHANNELS, 32, 32, CIFAR10_PAD, key, padValues),
  };
}
