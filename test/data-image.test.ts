/**
 * Image data sets on small files written by the test: `--dataset idx` (MNIST layout, rank 3 and
 * rank 4, gzipped or not), `--dataset cifar10` (binary batches), per-channel normalisation and the
 * crop-and-flip augmentation.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cropAndFlip } from '../src/data/augment.js';
import { CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES, loadCifar10 } from '../src/data/cifar10.js';
import { loadDigits } from '../src/data/digits.js';
import { loadFashionMnist } from '../src/data/fashion.js';
import { loadIdxDataset } from '../src/data/idx.js';
import { DATASETS, loadDataset } from '../src/data/index.js';
import { DataError, UsageError } from '../src/errors.js';
import { Rng } from '../src/util/random.js';
import { runMain } from './helpers/cli.js';

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

/** The error `f` throws (it must throw). */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

function idxFile(dims: number[], data: Uint8Array, magic = 0x0800 + dims.length): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

const bytes = (n: number, seed: number) => {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: n }, () => rng.int(256));
};

const TRAIN_IMAGES = 'train-images-idx3-ubyte';
const TRAIN_LABELS = 'train-labels-idx1-ubyte';
const TEST_IMAGES = 't10k-images-idx3-ubyte';
const TEST_LABELS = 't10k-labels-idx1-ubyte';

interface IdxSet {
  trainDims: number[];
  trainPixels: Uint8Array;
  trainLabels: number[];
  testDims: number[];
  testPixels: Uint8Array;
  testLabels: number[];
}

/** Writes the four files; the names in `gzipped` get .gz. */
function writeIdxDir(set: IdxSet, gzipped: string[] = []): string {
  const dir = tmp('idx-image-');
  const write = (name: string, content: Buffer) => writeFileSync(join(dir, gzipped.includes(name) ? `${name}.gz` : name), gzipped.includes(name) ? gzipSync(content) : content);
  write(TRAIN_IMAGES, idxFile(set.trainDims, set.trainPixels));
  write(TRAIN_LABELS, idxFile([set.trainLabels.length], Uint8Array.from(set.trainLabels)));
  write(TEST_IMAGES, idxFile(set.testDims, set.testPixels));
  write(TEST_LABELS, idxFile([set.testLabels.length], Uint8Array.from(set.testLabels)));
  return dir;
}

/** Rank 3: 4 train / 3 test images of 5×7 (not square, so a transposition would show), labels up to 4. */
const grey: IdxSet = {
  trainDims: [4, 5, 7],
  trainPixels: bytes(4 * 35, 1),
  trainLabels: [0, 3, 1, 3],
  testDims: [3, 5, 7],
  testPixels: bytes(3 * 35, 2),
  testLabels: [4, 0, 2],
};

/** Rank 4: [N, H, W, C] = 3 train / 2 test images of 4×5 with 3 channels. */
const colour: IdxSet = {
  trainDims: [3, 4, 5, 3],
  trainPixels: bytes(3 * 60, 3),
  trainLabels: [1, 0, 1],
  testDims: [2, 4, 5, 3],
  testPixels: bytes(2 * 60, 4),
  testLabels: [0, 1],
};

describe('--dataset idx', () => {
  it('rank-3 images [N, H, W] (some files gzipped) give samples [1, H, W] /255, the labels, classes = largest label + 1', () => {
    const dir = writeIdxDir(grey, [TRAIN_IMAGES, TEST_LABELS]);
    const d = loadDataset('idx', { dataDir: dir });
    expect(d).toMatchObject({ name: 'idx', source: dir, inputShape: [1, 5, 7], classes: 5 });
    expect(d.normalization).toBeUndefined();
    expect(d.augment).toBeUndefined();
    expect(d.train.count).toBe(4);
    expect(d.test.count).toBe(3);
    expect(Array.from(d.train.y)).toEqual([0n, 3n, 1n, 3n]);
    expect(Array.from(d.test.y)).toEqual([4n, 0n, 2n]);
    expect(Array.from(d.train.x)).toEqual(Array.from(grey.trainPixels, (p) => Math.fround(p / 255)));
    expect(Array.from(d.test.x)).toEqual(Array.from(grey.testPixels, (p) => Math.fround(p / 255)));
  });

  it('rank-4 images [N, H, W, C] are transposed to samples [C, H, W]', () => {
    const dir = writeIdxDir(colour, [TEST_IMAGES]);
    const d = loadIdxDataset({ dataDir: dir });
    expect(d.inputShape).toEqual([3, 4, 5]);
    expect(d.classes).toBe(2);
    for (const [split, pixels, count] of [
      [d.train, colour.trainPixels, 3],
      [d.test, colour.testPixels, 2],
    ] as const) {
      expect(split.x.length).toBe(count * 60);
      for (let n = 0; n < count; n++) {
        for (let h = 0; h < 4; h++) {
          for (let w = 0; w < 5; w++) {
            for (let c = 0; c < 3; c++) expect(split.x[n * 60 + c * 20 + h * 5 + w]).toBe(Math.fround(pixels[n * 60 + (h * 5 + w) * 3 + c]! / 255));
          }
        }
      }
    }
  });

  it('without --data-dir: a UsageError on --data-dir that says what the directory must hold', () => {
    const err = thrown(() => loadDataset('idx'));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toBe(
      '--data-dir: required for --dataset idx (a directory with train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each optionally .gz)',
    );
  });

  describe('malformed directories give one DataError naming the file', () => {
    const check = (dir: string, message: string) => {
      const err = thrown(() => loadIdxDataset({ dataDir: dir }));
      expect(err).toBeInstanceOf(DataError);
      expect(err.message).toBe(message);
    };

    it('wrong magic', () => {
      const dir = writeIdxDir(grey);
      writeFileSync(join(dir, TEST_IMAGES), idxFile(grey.testDims, grey.testPixels, 0x0d03));
      check(dir, `${join(dir, TEST_IMAGES)}: not an unsigned-byte IDX file (magic 0x00000d03)`);
    });

    it('a label count that does not match the images', () => {
      const dir = writeIdxDir(grey, [TRAIN_LABELS]);
      writeFileSync(join(dir, `${TRAIN_LABELS}.gz`), gzipSync(idxFile([3], Uint8Array.of(0, 1, 2))));
      check(dir, `${join(dir, `${TRAIN_LABELS}.gz`)}: expected 4 labels, got 3`);
    });

    it('images of different sizes in the two splits', () => {
      const dir = writeIdxDir({ ...grey, testDims: [3, 7, 5] });
      check(dir, `${join(dir, TEST_IMAGES)}: images are 7×5, the training images (${join(dir, TRAIN_IMAGES)}) are 5×7; both splits need the same image size`);
      const channels = writeIdxDir({ ...colour, testDims: [2, 4, 5, 1], testPixels: bytes(2 * 20, 5) });
      check(channels, `${join(channels, TEST_IMAGES)}: images are 4×5×1, the training images (${join(channels, TRAIN_IMAGES)}) are 4×5×3; both splits need the same image size`);
    });

    it('an image array of another rank, an empty split, images without pixels', () => {
      const rank = writeIdxDir({ ...grey, trainDims: [4, 35] });
      check(rank, `${join(rank, TRAIN_IMAGES)}: expected a rank-3 [N, H, W] or rank-4 [N, H, W, C] image array, got rank 2`);
      const empty = writeIdxDir({ ...grey, testDims: [0, 5, 7], testPixels: new Uint8Array(0), testLabels: [] });
      check(empty, `${join(empty, TEST_IMAGES)}: holds no images`);
      const flat = writeIdxDir({ ...grey, trainDims: [4, 0, 7], trainPixels: new Uint8Array(0) });
      check(flat, `${join(flat, TRAIN_IMAGES)}: images of size 0×7 hold no pixels`);
    });

    it('a single class', () => {
      const dir = writeIdxDir({ ...grey, trainLabels: [0, 0, 0, 0], testLabels: [0, 0, 0] });
      check(dir, `${join(dir, TRAIN_LABELS)}: every label here and in ${join(dir, TEST_LABELS)} is 0; at least 2 classes are needed (classes = largest label + 1)`);
    });

    it('a missing file: where it looked and what the directory must hold', () => {
      const dir = writeIdxDir(grey);
      rmSync(join(dir, TEST_LABELS));
      check(
        dir,
        `${join(dir, `${TEST_LABELS}.gz`)}: file not found (--dataset idx reads train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each optionally .gz, from --data-dir)`,
      );
    });
  });

  it('fashion-mnist is the same loader with the 28×28 single-channel check', () => {
    const small = writeIdxDir(grey);
    expect(() => loadFashionMnist({ dataDir: small })).toThrow(`${join(small, TRAIN_IMAGES)}: expected 28×28 images (Fashion-MNIST), got 5×7`);
    const rgb = writeIdxDir({ ...colour, trainDims: [3, 28, 28, 3], trainPixels: bytes(3 * 28 * 28 * 3, 6) });
    expect(() => loadFashionMnist({ dataDir: rgb })).toThrow(`${join(rgb, TRAIN_IMAGES)}: expected 28×28 images (Fashion-MNIST), got 28×28×3`);
  });
});

// ---------------------------------------------------------------------------------------------
// CIFAR-10

const RECORD = 3073;

/**
 * Records with labels from `labels` and pixels whose range depends on the channel (red 0..99,
 * green 100..179, blue 0..255), so each channel has its own statistics and a channel mix-up shows.
 */
function cifarRecords(labels: number[], seed: number): Buffer {
  const rng = new Rng(seed);
  const out = Buffer.alloc(labels.length * RECORD);
  labels.forEach((label, r) => {
    out[r * RECORD] = label;
    for (let k = 0; k < 3072; k++) {
      const c = Math.floor(k / 1024);
      out[r * RECORD + 1 + k] = c === 0 ? rng.int(100) : c === 1 ? 100 + rng.int(80) : rng.int(256);
    }
  });
  return out;
}

const PER_FILE = 20;
const cifarLabels = (seed: number, n: number) => {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.int(10));
};
/** The contents of the six files: five training batches of 20 records, a test batch of 10. */
const cifarFiles = new Map<string, Buffer>([...CIFAR10_TRAIN_FILES.map((f, i) => [f, cifarRecords(cifarLabels(10 + i, PER_FILE), 20 + i)] as const), [CIFAR10_TEST_FILE, cifarRecords(cifarLabels(99, 10), 199)]]);

/** A directory of the six files, with some replaced (null: left out). */
function writeCifarDir(replace: Record<string, Buffer | null> = {}): string {
  const dir = tmp('cifar10-');
  for (const [name, content] of cifarFiles) {
    const c = Object.hasOwn(replace, name) ? replace[name]! : content;
    if (c !== null) writeFileSync(join(dir, name), c);
  }
  return dir;
}

describe('--dataset cifar10', () => {
  const dir = writeCifarDir();
  const d = loadDataset('cifar10', { dataDir: dir });
  const trainBytes = Buffer.concat(CIFAR10_TRAIN_FILES.map((f) => cifarFiles.get(f)!));
  const testBytes = cifarFiles.get(CIFAR10_TEST_FILE)!;

  it('reads the five training batches in order and the test batch: [3, 32, 32], 10 classes, the labels', () => {
    expect(d).toMatchObject({ name: 'cifar10', inputShape: [3, 32, 32], classes: 10 });
    expect(d.train.count).toBe(5 * PER_FILE);
    expect(d.test.count).toBe(10);
    expect(d.train.x.length).toBe(5 * PER_FILE * 3072);
    expect(d.test.x.length).toBe(10 * 3072);
    expect(Array.from(d.train.y)).toEqual(Array.from({ length: 5 * PER_FILE }, (_, r) => BigInt(trainBytes[r * RECORD]!)));
    expect(Array.from(d.test.y)).toEqual(Array.from({ length: 10 }, (_, r) => BigInt(testBytes[r * RECORD]!)));
  });

  it('normalises per channel with the mean and population std of the training split (/255 values)', () => {
    const n = 5 * PER_FILE * 1024;
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      for (let r = 0; r < 5 * PER_FILE; r++) for (let p = 0; p < 1024; p++) sum += trainBytes[r * RECORD + 1 + c * 1024 + p]! / 255;
      const mean = sum / n;
      let squares = 0;
      for (let r = 0; r < 5 * PER_FILE; r++) for (let p = 0; p < 1024; p++) squares += (trainBytes[r * RECORD + 1 + c * 1024 + p]! / 255 - mean) ** 2;
      expect(d.normalization!.mean[c]).toBeCloseTo(mean, 12);
      expect(d.normalization!.std[c]).toBeCloseTo(Math.sqrt(squares / n), 12);
    }
    // red 0..99, green 100..179, blue 0..255
    expect(d.normalization!.mean[0]).toBeCloseTo(49.5 / 255, 2);
    expect(d.normalization!.mean[1]).toBeCloseTo(139.5 / 255, 2);
    expect(d.normalization!.mean[2]).toBeCloseTo(127.5 / 255, 2);
    expect(d.source).toBe(`${dir} (normalised per channel with the training split's mean ${d.normalization!.mean.map((m) => m.toFixed(4)).join(', ')} and std ${d.normalization!.std.map((s) => s.toFixed(4)).join(', ')})`);
    // after normalisation the training split has mean 0 and std 1 in every channel
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      let squares = 0;
      for (let r = 0; r < d.train.count; r++) {
        for (let p = 0; p < 1024; p++) {
          const v = d.train.x[r * 3072 + c * 1024 + p]!;
          sum += v;
          squares += v * v;
        }
      }
      expect(Math.abs(sum / n)).toBeLessThan(1e-6);
      expect(Math.sqrt(squares / n - (sum / n) ** 2)).toBeCloseTo(1, 5);
    }
  });

  it('the red, green and blue planes land in channels 0, 1, 2, pixel for pixel, in both splits', () => {
    const { mean, std } = d.normalization!;
    for (const [split, raw] of [
      [d.train, trainBytes],
      [d.test, testBytes],
    ] as const) {
      for (let r = 0; r < split.count; r++) {
        for (let k = 0; k < 3072; k++) {
          const c = Math.floor(k / 1024);
          const expected = Math.fround((raw[r * RECORD + 1 + k]! / 255 - mean[c]!) / std[c]!);
          if (split.x[r * 3072 + k] !== expected) expect.fail(`record ${r}, channel ${c}, pixel ${k % 1024}: ${split.x[r * 3072 + k]} ≠ ${expected}`);
        }
      }
    }
    // the planes' own ranges, read back: red below 100/255, green 100..179
    const back = (r: number, c: number, p: number) => (d.train.x[r * 3072 + c * 1024 + p]! * d.normalization!.std[c]! + d.normalization!.mean[c]!) * 255;
    for (let p = 0; p < 1024; p += 37) {
      expect(back(3, 0, p)).toBeLessThan(99.5);
      expect(back(3, 1, p)).toBeGreaterThan(99.5);
      expect(back(3, 1, p)).toBeLessThan(179.5);
    }
  });

  it('training augmentation: a 4-pixel padded crop, flipped or not, padded with what a raw 0 byte becomes', () => {
    const { mean, std } = d.normalization!;
    const padValues = [0, 1, 2].map((c) => Math.fround((0 - mean[c]!) / std[c]!));
    const src = d.train.x.slice(7 * 3072, 8 * 3072);
    const copy = src.slice();
    const seen = new Set<string>();
    let padded = 0;
    for (let key = 0; key < 40; key++) {
      const dst = new Float32Array(3072);
      d.augment!(src, dst, key);
      const matches = transformsOf(src, dst, 3, 32, 32, 4, padValues);
      expect(matches).toHaveLength(1);
      const t = matches[0]!;
      seen.add(`${t.top},${t.left},${t.flip}`);
      if (t.top !== 0 || t.left !== 0) padded++;
    }
    expect(src).toEqual(copy);
    expect(seen.size).toBeGreaterThan(25);
    expect(padded).toBeGreaterThan(30);
  });

  it('digits (like fashion-mnist and idx) is neither normalised nor augmented', () => {
    expect(loadDigits().augment).toBeUndefined();
    expect(loadDigits().normalization).toBeUndefined();
  });

  describe('malformed batches give one DataError naming the file and what is allowed', () => {
    const check = (replace: Record<string, Buffer | null>, file: string, detail: string) => {
      const bad = writeCifarDir(replace);
      const err = thrown(() => loadCifar10({ dataDir: bad }));
      expect(err).toBeInstanceOf(DataError);
      expect(err.message).toBe(`${join(bad, file)}: ${detail}`);
    };
    const records = '3073-byte records: a label byte 0..9, then 1024 red, 1024 green and 1024 blue bytes';

    it('a truncated record', () => {
      const cut = cifarFiles.get('data_batch_5.bin')!.subarray(0, PER_FILE * RECORD - 100);
      check({ 'data_batch_5.bin': cut }, 'data_batch_5.bin', `${PER_FILE * RECORD - 100} bytes is not a whole number of ${records} (record 19 is cut off after 2973 bytes)`);
    });

    it('an empty file', () => {
      check({ [CIFAR10_TEST_FILE]: Buffer.alloc(0) }, CIFAR10_TEST_FILE, `empty; expected ${records}`);
    });

    it('label 10', () => {
      const wrong = Buffer.from(cifarFiles.get('data_batch_3.bin')!);
      wrong[7 * RECORD] = 10;
      check({ 'data_batch_3.bin': wrong }, 'data_batch_3.bin', 'record 7 has label 10, expected 0..9');
    });

    it('a missing test_batch.bin', () => {
      check({ [CIFAR10_TEST_FILE]: null }, CIFAR10_TEST_FILE, 'file not found (--dataset cifar10 reads data_batch_1.bin … data_batch_5.bin and test_batch.bin, the CIFAR-10 binary version, from --data-dir)');
    });

    it('a channel without variation cannot be normalised (named by the directory)', () => {
      const flat: Record<string, Buffer> = {};
      for (const f of CIFAR10_TRAIN_FILES) {
        const b = Buffer.from(cifarFiles.get(f)!);
        for (let r = 0; r < PER_FILE; r++) b.fill(9, r * RECORD + 1 + 1024, r * RECORD + 1 + 2048);
        flat[f] = b;
      }
      const bad = writeCifarDir(flat);
      const err = thrown(() => loadCifar10({ dataDir: bad }));
      expect(err).toBeInstanceOf(DataError);
      expect(err.message).toBe(`${bad}: the green channel has the same value 9 in every training image; per-channel normalisation needs some variation`);
    });

    it('without --data-dir: a UsageError on --data-dir', () => {
      const err = thrown(() => loadDataset('cifar10', {}));
      expect(err).toBeInstanceOf(UsageError);
      expect(err.message).toBe('--data-dir: required for --dataset cifar10 (a directory with data_batch_1.bin … data_batch_5.bin and test_batch.bin, the CIFAR-10 binary version)');
    });
  });

  it('bitcycle train --dataset cifar10 without --data-dir exits 2 with one line and writes no run', async () => {
    const out = tmp('cifar10-train-');
    const r = await runMain(['train', '--dataset', 'cifar10', '--epochs', '1', '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^bitcycle: --data-dir: required for --dataset cifar10 \(/)]);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });
});

describe('the registry', () => {
  it('lists idx and cifar10 with descriptions, and an unknown name lists what is allowed', () => {
    expect(Object.keys(DATASETS)).toEqual(['digits', 'fashion-mnist', 'idx', 'cifar10']);
    for (const entry of Object.values(DATASETS)) expect(entry.description.length).toBeGreaterThan(20);
    expect(() => loadDataset('cifar100')).toThrow('--dataset: unknown data set "cifar100" (allowed: digits, fashion-mnist, idx, cifar10)');
  });
});

// ---------------------------------------------------------------------------------------------
// cropAndFlip on its own

interface Transform {
  top: number;
  left: number;
  flip: boolean;
}

/** Every (offset, flip) for which `dst` is exactly the window of the padded `src`, mirrored if flip. */
function transformsOf(src: Float32Array, dst: Float32Array, channels: number, height: number, width: number, pad: number, padValues: number[]): Transform[] {
  const paddedAt = (c: number, y: number, x: number) => (y < 0 || y >= height || x < 0 || x >= width ? Math.fround(padValues[c]!) : src[(c * height + y) * width + x]!);
  const found: Transform[] = [];
  for (let top = -pad; top <= pad; top++) {
    for (let left = -pad; left <= pad; left++) {
      for (const flip of [false, true]) {
        let same = true;
        for (let c = 0; c < channels && same; c++) {
          for (let y = 0; y < height && same; y++) {
            for (let x = 0; x < width && same; x++) same = dst[(c * height + y) * width + x] === paddedAt(c, y + top, (flip ? width - 1 - x : x) + left);
          }
        }
        if (same) found.push({ top, left, flip });
      }
    }
  }
  return found;
}

describe('cropAndFlip', () => {
  // 2 channels of 5×6, distinct values, pad 2
  const [C, H, W, PAD] = [2, 5, 6, 2];
  const src = Float32Array.from({ length: C * H * W }, (_, i) => i + 1);
  const padValues = [-0.5, -7.25];
  const run = (key: number) => {
    const dst = new Float32Array(C * H * W).fill(NaN);
    cropAndFlip(src, dst, C, H, W, PAD, key, padValues);
    return dst;
  };

  it('is a pure function of the key, and every output is exactly one shifted (and maybe mirrored) window of the padded image', () => {
    const counts = new Map<string, number>();
    let flips = 0;
    const keys = 500;
    for (let key = 0; key < keys; key++) {
      const dst = run(key);
      expect(run(key)).toEqual(dst);
      const matches = transformsOf(src, dst, C, H, W, PAD, padValues);
      expect(matches).toHaveLength(1);
      const { top, left, flip } = matches[0]!;
      counts.set(`${top},${left}`, (counts.get(`${top},${left}`) ?? 0) + 1);
      if (flip) flips++;
    }
    // all (2·pad + 1)² offsets occur, and about half of the outputs are mirrored
    expect(counts.size).toBe((2 * PAD + 1) ** 2);
    expect(flips / keys).toBeGreaterThan(0.4);
    expect(flips / keys).toBeLessThan(0.6);
    // different keys, different outputs
    expect(run(1)).not.toEqual(run(2));
  });

  it('an unshifted window is the image itself, or its mirror image (each row reversed)', () => {
    const at = (key: number) => transformsOf(src, run(key), C, H, W, PAD, padValues)[0]!;
    const plain = Array.from({ length: 2000 }, (_, k) => k).find((k) => at(k).top === 0 && at(k).left === 0 && !at(k).flip)!;
    const mirror = Array.from({ length: 2000 }, (_, k) => k).find((k) => at(k).top === 0 && at(k).left === 0 && at(k).flip)!;
    expect(run(plain)).toEqual(src);
    const mirrored = new Float32Array(src.length);
    for (let row = 0; row < C * H; row++) for (let x = 0; x < W; x++) mirrored[row * W + x] = src[row * W + W - 1 - x]!;
    expect(run(mirror)).toEqual(mirrored);
  });

  it('pads with each channel its own value', () => {
    // a window shifted to the top-left corner: the first `pad` rows and columns are padding
    const key = Array.from({ length: 2000 }, (_, k) => k).find((k) => {
      const t = transformsOf(src, run(k), C, H, W, PAD, padValues)[0]!;
      return t.top === -PAD && t.left === -PAD && !t.flip;
    })!;
    const dst = run(key);
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const v = dst[(c * H + y) * W + x];
          expect(v).toBe(y < PAD || x < PAD ? padValues[c] : src[(c * H + y - PAD) * W + x - PAD]);
        }
      }
    }
  });
});
