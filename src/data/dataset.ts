/**
 * Data sets behind one small interface. A data set is two splits of flattened float32 features
 * and int64 labels (onnxruntime wants int64 labels as BigInt64Array).
 */
export interface Split {
  /** Row-major [count, ...inputShape]. */
  x: Float32Array;
  y: BigInt64Array;
  count: number;
}

export interface Dataset {
  name: string;
  /** Where it was read from, for run.json. */
  source: string;
  inputShape: number[];
  classes: number;
  train: Split;
  test: Split;
}

export interface DatasetLoadOptions {
  /** Directory to read the files from instead of the default location. */
  dataDir?: string;
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
