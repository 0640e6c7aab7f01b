/**
 * IDX files (MNIST / Fashion-MNIST format), optionally gzipped: a big-endian header of magic
 * (0x0000 | type 0x08 = uint8 | rank) and rank dimension sizes, then the data.
 *
 * Image directories in the MNIST layout (train-/t10k-images-idx3-ubyte, train-/t10k-labels-idx1-ubyte,
 * each optionally .gz) are read by one loader: images [N, H, W] or [N, H, W, C] become samples of
 * shape [C, H, W] (C = 1 for rank 3) with values /255; labels are a rank-1 array of N bytes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataError } from '../errors.js';
import { type Dataset, type DatasetLoadOptions, type Split, requireDataDir } from './dataset.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) throw new DataError(file, 'not an IDX file: shorter than its 4-byte magic number');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(0) !== 0 || bytes[2] !== 0x08) throw new DataError(file, `not an unsigned-byte IDX file (magic 0x${view.getUint32(0).toString(16).padStart(8, '0')})`);
  const rank = bytes[3]!;
  const header = 4 + 4 * rank;
  if (rank < 1 || bytes.length < header) throw new DataError(file, `IDX header truncated (rank ${rank})`);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - header !== size) throw new DataError(file, `IDX data has ${bytes.length - header} bytes, header says ${dims.join('×')} = ${size}`);
  return { dims, data: bytes.subarray(header) };
}

export function readIdx(file: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read: ${(err as Error).message}`;
    throw new DataError(file, reason);
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      throw new DataError(file, `not a valid gzip file (${(err as Error).message}); download it again or give the uncompressed IDX file`);
    }
  }
  return parseIdx(bytes, file);
}

/** The four files of the MNIST layout, as error messages list them. */
export const IDX_LAYOUT = 'train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each optionally .gz';

export interface IdxImageOptions {
  /** What to do about a missing file, given its base name (e.g. where to get it). */
  missing: (base: string) => string;
  /** A fixed number of classes (every label must be below it); without it, the largest label + 1. */
  classes?: number;
  /** The only image shape [C, H, W] allowed, and whose it is (e.g. "Fashion-MNIST"). */
  expect?: { shape: readonly [number, number, number]; what: string };
}

/** Image size as the file spells it: H×W, or H×W×C for rank-4 files. */
function imageSize(height: number, width: number, channels: number | undefined): string {
  return channels === undefined ? `${height}×${width}` : `${height}×${width}×${channels}`;
}

function findFile(dir: string, base: string, missing: (base: string) => string): string {
  for (const name of [`${base}.gz`, base]) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw new DataError(join(dir, `${base}.gz`), `file not found (${missing(base)})`);
}

interface ImageSplit {
  split: Split;
  /** [C, H, W]. */
  shape: [number, number, number];
  /** As the file spells it, for messages. */
  size: string;
  imagesFile: string;
  labelsFile: string;
  maxLabel: number;
}

function readImageSplit(dir: string, prefix: 'train' | 't10k', options: IdxImageOptions): ImageSplit {
  const imagesFile = findFile(dir, `${prefix}-images-idx3-ubyte`, options.missing);
  const labelsFile = findFile(dir, `${prefix}-labels-idx1-ubyte`, options.missing);
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  const { dims } = images;
  if (dims.length !== 3 && dims.length !== 4) throw new DataError(imagesFile, `expected a rank-3 [N, H, W] or rank-4 [N, H, W, C] image array, got rank ${dims.length}`);
  const [count, height, width, fileChannels] = dims as [number, number, number, number | undefined];
  const channels = fileChannels ?? 1;
  const size = imageSize(height, width, fileChannels);
  if (options.expect) {
    const [c, h, w] = options.expect.shape;
    if (channels !== c || height !== h || width !== w) throw new DataError(imagesFile, `expected ${imageSize(h, w, c === 1 ? undefined : c)} images (${options.expect.what}), got ${size}`);
  }
  if (count === 0) throw new DataError(imagesFile, 'holds no images');
  if (height * width * channels === 0) throw new DataError(imagesFile, `images of size ${size} hold no pixels`);
  if (labels.dims.length !== 1 || labels.dims[0] !== count) throw new DataError(labelsFile, `expected ${count} labels, got ${labels.dims.join('×')}`);
  const y = new BigInt64Array(count);
  let maxLabel = 0;
  for (let i = 0; i < count; i++) {
    const label = labels.data[i]!;
    if (options.classes !== undefined && label >= options.classes) throw new DataError(labelsFile, `label ${i} is ${label}, expected 0..${options.classes - 1}`);
    if (label > maxLabel) maxLabel = label;
    y[i] = BigInt(label);
  }
  // [N, H, W, C] → [N, C, H, W] (for C = 1 the same order)
  const plane = height * width;
  const x = new Float32Array(count * channels * plane);
  const data = images.data;
  for (let n = 0, src = 0; n < count; n++) {
    const base = n * channels * plane;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < channels; c++, src++) x[base + c * plane + p] = data[src]! / 255;
    }
  }
  return { split: { x, y, count }, shape: [channels, height, width], size, imagesFile, labelsFile, maxLabel };
}

/** Both splits of an MNIST-layout directory, with inputShape [C, H, W] and the number of classes. */
export function loadIdxImages(dir: string, options: IdxImageOptions): Pick<Dataset, 'inputShape' | 'classes' | 'train' | 'test'> {
  const train = readImageSplit(dir, 'train', options);
  const test = readImageSplit(dir, 't10k', options);
  if (test.shape.some((d, i) => d !== train.shape[i])) {
    throw new DataError(test.imagesFile, `images are ${test.size}, the training images (${train.imagesFile}) are ${train.size}; both splits need the same image size`);
  }
  let classes = options.classes;
  if (classes === undefined) {
    classes = Math.max(train.maxLabel, test.maxLabel) + 1;
    if (classes < 2) throw new DataError(train.labelsFile, `every label here and in ${test.labelsFile} is 0; at least 2 classes are needed (classes = largest label + 1)`);
  }
  return { inputShape: [...train.shape], classes, train: train.split, test: test.split };
}

/** `--dataset idx`: any MNIST-layout directory given with --data-dir. */
export function loadIdxDataset(options: DatasetLoadOptions = {}): Dataset {
  const dir = requireDataDir(options, 'idx', IDX_LAYOUT);
  const images = loadIdxImages(dir, { missing: () => `--dataset idx reads ${IDX_LAYOUT}, from --data-dir` });
  return { name: 'idx', source: dir, ...images };
}
