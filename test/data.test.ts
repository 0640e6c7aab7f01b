import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadDigits, parseDigitsCsv } from '../src/data/digits.js';
import { FASHION_DEFAULT_DIR, loadFashionMnist } from '../src/data/fashion.js';
import { parseIdx, readIdx } from '../src/data/idx.js';
import { loadDataset } from '../src/data/index.js';
import { DataError } from '../src/errors.js';
import { runMain } from './helpers/cli.js';
import { FASHION_MNIST, systemIt } from './helpers/system.js';

function idx(dims: number[], data: number[]): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return new Uint8Array(Buffer.concat([header, Buffer.from(data)]));
}

describe('digits', () => {
  const d = loadDigits();

  it('has a fixed stratified 80/20 split of the 1797 samples, features scaled to 0..1', () => {
    expect(d.train.count + d.test.count).toBe(1797);
    expect(d.train.count).toBe(1438);
    expect(d.inputShape).toEqual([64]);
    expect(Math.max(...d.train.x)).toBe(1);
    expect(Math.min(...d.train.x)).toBe(0);
    const perClass = (y: BigInt64Array) => Array.from({ length: 10 }, (_, c) => y.filter((v) => v === BigInt(c)).length);
    const train = perClass(d.train.y);
    const test = perClass(d.test.y);
    train.forEach((n, c) => expect(Math.abs(n / (n + test[c]!) - 0.8)).toBeLessThan(0.01));
    // the same split every time
    expect(Array.from(loadDigits().test.y)).toEqual(Array.from(d.test.y));
  });

  it('bad rows name the file, line and column', () => {
    expect(() => parseDigitsCsv('1,2,3\n', 'x.csv')).toThrow(/x\.csv: line 1: expected 65 columns/);
    const row = new Array(64).fill('3');
    expect(() => parseDigitsCsv([...row, '12'].join(','), 'x.csv')).toThrow(/x\.csv: line 1, column 65: expected an integer in 0\.\.9, got "12"/);
    row[5] = '17';
    expect(() => parseDigitsCsv([...row, '1'].join(','), 'x.csv')).toThrow(/column 6: expected an integer in 0\.\.16, got "17"/);
  });
});

describe('IDX files', () => {
  it('parses unsigned-byte arrays and rejects malformed ones', () => {
    const a = parseIdx(idx([2, 3], [1, 2, 3, 4, 5, 6]), 'a');
    expect(a.dims).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => parseIdx(idx([2, 3], [1, 2]), 'b.idx')).toThrow(/b\.idx: IDX data has 2 bytes, header says 2×3 = 6/);
    expect(() => parseIdx(new Uint8Array([0, 0, 0x0d, 1]), 'c.idx')).toThrow(/c\.idx: not an unsigned-byte IDX file/);
  });

  it('loads a Fashion-MNIST-shaped directory given with --data-dir (gzipped or not)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idx-'));
    const images = (n: number) => idx([n, 28, 28], Array.from({ length: n * 784 }, (_, i) => i % 256));
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(images(3)));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idx([3], [0, 9, 4]));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), images(2));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx([2], [1, 2])));
    const d = loadFashionMnist({ dataDir: dir });
    expect(d.inputShape).toEqual([1, 28, 28]);
    expect(d.augment).toBeUndefined();
    expect(d.normalization).toBeUndefined();
    expect(d.train.count).toBe(3);
    expect(Array.from(d.train.y)).toEqual([0n, 9n, 4n]);
    expect(d.train.x[255]).toBe(1);
    expect(d.test.count).toBe(2);
  });

  it('a missing file says where it looked and how to get it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idx-'));
    expect(() => loadFashionMnist({ dataDir: dir })).toThrow(DataError);
    expect(() => loadFashionMnist({ dataDir: dir })).toThrow(/train-images-idx3-ubyte\.gz: file not found \(install the Debian package dataset-fashion-mnist/);
  });

  systemIt(FASHION_MNIST, 'trains one epoch on the real Fashion-MNIST from the Debian package', async () => {
    const r = await runMain(['train', '--dataset', 'fashion-mnist', '--epochs', '1', '--out', mkdtempSync(join(tmpdir(), 'fm-')), '--json']);
    if (r.status !== 0) throw new Error(`${r.stderr}\n(Fashion-MNIST is expected in ${FASHION_DEFAULT_DIR}: apt-get install dataset-fashion-mnist)`);
    const json = JSON.parse(r.stdout);
    expect(json.totalSteps).toBe(937);
    expect(json.testAccuracy).toBeGreaterThan(0.7);
  });
});

/** MNIST layout, spelled out: magic 0x00000803 (uint8, rank 3) + N, 28, 28 big-endian, then pixels. */
function mnistImages(pixels: Uint8Array): Buffer {
  const n = pixels.length / 784;
  const header = Buffer.alloc(16);
  header.writeUInt32BE(0x00000803, 0);
  header.writeUInt32BE(n, 4);
  header.writeUInt32BE(28, 8);
  header.writeUInt32BE(28, 12);
  return Buffer.concat([header, pixels]);
}

/** Magic 0x00000801 (uint8, rank 1) + N big-endian, then labels. */
function mnistLabels(labels: number[]): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(0x00000801, 0);
  header.writeUInt32BE(labels.length, 4);
  return Buffer.concat([header, Buffer.from(labels)]);
}

/** Distinct pixels per image, covering 0 and 255. */
function pixelsOf(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n * 784 }, (_, i) => (i === 0 ? 0 : i === 1 ? 255 : (i * 31 + seed * 17 + (i >> 8)) % 256));
}

describe('IDX loader on small Fashion-MNIST-layout files written by the test', () => {
  const trainPixels = pixelsOf(6, 1);
  const trainLabels = [0, 9, 4, 1, 7, 3];
  const testPixels = pixelsOf(3, 2);
  const testLabels = [5, 2, 8];
  /** train split raw, test split gzipped. */
  const dir = mkdtempSync(join(tmpdir(), 'idx-mnist-'));
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), mnistImages(trainPixels));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), mnistLabels(trainLabels));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(mnistImages(testPixels)));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(mnistLabels(testLabels)));

  it('reads raw and gzipped IDX files to the dims and bytes written', () => {
    const raw = readIdx(join(dir, 'train-images-idx3-ubyte'));
    expect(raw.dims).toEqual([6, 28, 28]);
    expect(Buffer.from(raw.data).equals(Buffer.from(trainPixels))).toBe(true);
    const gz = readIdx(join(dir, 't10k-images-idx3-ubyte.gz'));
    expect(gz.dims).toEqual([3, 28, 28]);
    expect(Buffer.from(gz.data).equals(Buffer.from(testPixels))).toBe(true);
    const labels = readIdx(join(dir, 't10k-labels-idx1-ubyte.gz'));
    expect(labels.dims).toEqual([3]);
    expect(Array.from(labels.data)).toEqual(testLabels);
  });

  it("loadDataset('fashion-mnist', { dataDir }) gives 1×28×28 images scaled by 1/255 and the labels written", () => {
    const d = loadDataset('fashion-mnist', { dataDir: dir });
    expect(d.name).toBe('fashion-mnist');
    expect(d.source).toBe(dir);
    expect(d.inputShape).toEqual([1, 28, 28]);
    expect(d.classes).toBe(10);
    for (const [split, pixels, labels] of [
      [d.train, trainPixels, trainLabels],
      [d.test, testPixels, testLabels],
    ] as const) {
      expect(split.count).toBe(labels.length);
      expect(split.x.length).toBe(labels.length * 784);
      expect(Array.from(split.y)).toEqual(labels.map(BigInt));
      expect(Array.from(split.x)).toEqual(Array.from(pixels, (p) => Math.fround(p / 255)));
    }
    expect(d.train.x[0]).toBe(0);
    expect(d.train.x[1]).toBe(1);
  });

  it('bitcycle train --dataset fashion-mnist --data-dir DIR trains on them', async () => {
    const out = mkdtempSync(join(tmpdir(), 'idx-run-'));
    const r = await runMain(['train', '--dataset', 'fashion-mnist', '--data-dir', dir, '--schedule', 'static:8', '--epochs', '1', '--batch-size', '3', '--out', out, '--json']);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.dataset).toBe('fashion-mnist');
    expect(json.totalSteps).toBe(2); // 6 training images / batch 3
    const run = JSON.parse(readFileSync(join(json.runDir, 'run.json'), 'utf8'));
    expect(run.config.dataDir).toBe(dir);
  });

  describe('malformed files give a DataError naming the file', () => {
    /** A copy of the good directory with one file replaced. */
    function withFile(name: string, bytes: Uint8Array): string {
      const bad = mkdtempSync(join(tmpdir(), 'idx-bad-'));
      for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) {
        if (f !== name) writeFileSync(join(bad, f), readFileSync(join(dir, f)));
      }
      writeFileSync(join(bad, name), bytes);
      return bad;
    }
    const load = (d: string) => () => loadFashionMnist({ dataDir: d });

    it('wrong magic (signed bytes, 0x00000903)', () => {
      const bytes = mnistImages(trainPixels);
      bytes.writeUInt32BE(0x00000903, 0);
      const bad = withFile('train-images-idx3-ubyte', bytes);
      expect(load(bad)).toThrow(DataError);
      expect(load(bad)).toThrow(`${join(bad, 'train-images-idx3-ubyte')}: not an unsigned-byte IDX file (magic 0x00000903)`);
    });

    it('a text file in place of an IDX file', () => {
      const bad = withFile('train-labels-idx1-ubyte', Buffer.from('0,9,4,1,7,3\n'));
      expect(load(bad)).toThrow(DataError);
      expect(load(bad)).toThrow(/train-labels-idx1-ubyte: not an unsigned-byte IDX file \(magic 0x302c392c\)/);
    });

    it('truncated data, raw and inside a gzip', () => {
      const short = mnistImages(trainPixels).subarray(0, 16 + 784 * 6 - 100);
      const raw = withFile('train-images-idx3-ubyte', short);
      expect(load(raw)).toThrow(DataError);
      expect(load(raw)).toThrow(`${join(raw, 'train-images-idx3-ubyte')}: IDX data has 4604 bytes, header says 6×28×28 = 4704`);
      const gz = withFile('t10k-images-idx3-ubyte.gz', gzipSync(mnistImages(testPixels).subarray(0, 16 + 784)));
      expect(load(gz)).toThrow(`${join(gz, 't10k-images-idx3-ubyte.gz')}: IDX data has 784 bytes, header says 3×28×28 = 2352`);
    });

    it('a cut-off gzip stream is one DataError naming the file', () => {
      const zipped = gzipSync(mnistImages(testPixels));
      const cut = withFile('t10k-images-idx3-ubyte.gz', zipped.subarray(0, zipped.length - 20));
      expect(load(cut)).toThrow(DataError);
      expect(load(cut)).toThrow(/t10k-images-idx3-ubyte\.gz: not a valid gzip file/);
    });

    it('truncated header and a file shorter than its magic number', () => {
      const header = withFile('train-images-idx3-ubyte', mnistImages(trainPixels).subarray(0, 10));
      expect(load(header)).toThrow(DataError);
      expect(load(header)).toThrow(/train-images-idx3-ubyte: IDX header truncated \(rank 3\)/);
      const tiny = withFile('train-labels-idx1-ubyte', new Uint8Array([0, 0, 8]));
      expect(load(tiny)).toThrow(/train-labels-idx1-ubyte: not an IDX file: shorter than its 4-byte magic number/);
    });

    it('labels that do not match the images', () => {
      const count = withFile('train-labels-idx1-ubyte', mnistLabels([0, 9, 4, 1, 7]));
      expect(load(count)).toThrow(DataError);
      expect(load(count)).toThrow(/train-labels-idx1-ubyte: expected 6 labels, got 5/);
      const range = withFile('train-labels-idx1-ubyte', mnistLabels([0, 9, 4, 10, 7, 3]));
      expect(load(range)).toThrow(/train-labels-idx1-ubyte: label 3 is 10, expected 0\.\.9/);
      const rank = withFile('train-images-idx3-ubyte', idx([6, 784], Array.from(trainPixels)));
      expect(load(rank)).toThrow(/train-images-idx3-ubyte: expected a rank-3 \[N, H, W\] or rank-4 \[N, H, W, C\] image array, got rank 2/);
    });

    it('images of the wrong size (not 28×28) and an empty split are refused before training', async () => {
      const header = Buffer.alloc(16);
      header.writeUInt32BE(0x00000803, 0);
      header.writeUInt32BE(6, 4);
      header.writeUInt32BE(32, 8);
      header.writeUInt32BE(32, 12);
      const big = withFile('train-images-idx3-ubyte', Buffer.concat([header, Buffer.alloc(6 * 32 * 32)]));
      expect(load(big)).toThrow(/train-images-idx3-ubyte: expected 28×28 images \(Fashion-MNIST\), got 32×32/);
      const r = await runMain(['train', '--dataset', 'fashion-mnist', '--data-dir', big, '--epochs', '1', '--out', mkdtempSync(join(tmpdir(), 'idx-train-'))]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^bitcycle: .*train-images-idx3-ubyte: expected 28×28 images/)]);
      const none = withFile('t10k-images-idx3-ubyte.gz', gzipSync(mnistImages(new Uint8Array(0))));
      expect(load(none)).toThrow(/t10k-images-idx3-ubyte\.gz: holds no images/);
    });

    it('the CLI reports it on one line with exit code 2', async () => {
      const bytes = mnistImages(trainPixels);
      bytes.writeUInt32BE(0x00000903, 0);
      const bad = withFile('train-images-idx3-ubyte', bytes);
      const r = await runMain(['export', '--dataset', 'fashion-mnist', '--data-dir', bad, '--out', mkdtempSync(join(tmpdir(), 'idx-export-'))]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('train-images-idx3-ubyte: not an unsigned-byte IDX file (magic 0x00000903)');
    });
  });
});
