import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadDigits, parseDigitsCsv } from '../src/data/digits.js';
import { FASHION_DEFAULT_DIR, loadFashionMnist } from '../src/data/fashion.js';
import { parseIdx } from '../src/data/idx.js';
import { DataError } from '../src/errors.js';
import { runCli } from './helpers/cli.js';

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
    expect(d.inputShape).toEqual([784]);
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

  it('trains one epoch on the real Fashion-MNIST from the Debian package', () => {
    const r = runCli(['train', '--dataset', 'fashion-mnist', '--epochs', '1', '--out', mkdtempSync(join(tmpdir(), 'fm-')), '--json']);
    if (r.status !== 0) throw new Error(`${r.stderr}\n(Fashion-MNIST is expected in ${FASHION_DEFAULT_DIR}: apt-get install dataset-fashion-mnist)`);
    const json = JSON.parse(r.stdout);
    expect(json.totalSteps).toBe(937);
    expect(json.testAccuracy).toBeGreaterThan(0.7);
  });
});
