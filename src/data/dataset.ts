/**
 * Data sets behind one small interface. A data set is two splits of flattened float32 features
 * and int64 labels (onnxruntime wants int64 labels as BigInt64Array). Images have the shape
 * [C, H, W] (channels, height, width).
 */
import { UsageError } from '../errors.js';

export interface Split {
  /** Row-major [count, ...inputShape]. */
  x: Float32Array;
  y: BigInt64Array;
  count: number;
}

/** Per-channel statistics of the training split's values before normalisation (value − mean) / std. */
export interface Normalization {
  mean: number[];
  std: number[];
}

/**
 * A training-time transform of one sample: reads `src` and writes `dst` (each one sample of
 * inputShape, distinct buffers), a pure function of the 32-bit `key`.
 */
export type Augment = (src: Float32Array, dst: Float32Array, key: number) => void;

export interface Dataset {
  name: string;
  /** Where it was read from, for run.json. */
  source: string;
  inputShape: number[];
  classes: number;
  train: Split;
  test: Split;
  /** Present when the features were normalised per channel (both splits, with training statistics). */
  normalization?: Normalization;
  /** Present when training samples are to be augmented (never the test split). */
  augment?: Augment;
}

export interface DatasetLoadOptions {
  /** Directory to read the files from instead of the default location. */
  dataDir?: string;
}

/** The directory of a data set that has no default location: `--data-dir` is required. */
export function requireDataDir(options: DatasetLoadOptions, dataset: string, layout: string): string {
  if (options.dataDir === undefined) throw new UsageError('--data-dir', `required for --dataset ${dataset} (a directory with ${layout})`);
  return options.dataDir;
}

export function featureSize(d: Pick<Dataset, 'inputShape'>): number {
  return d.inputShape.reduce((a, b) => a * b, 1);
}

/** Take rows `indices` of a split into a new split. */
export function subset(split: Split, indices: ArrayLike<number>, width: number): Split {
  const count = indices.length;
  const x = new Float32Array(count * width);
  const y = new BigInt64Array(count);
  for (let i = 0; i < count; i++) {
    const r = indices[i]!;
    x.set(split.x.subarray(r * width, (r + 1) * width), i * width);
    y[i] = split.y[r]!;
  }
  return { x, y, count };
}
