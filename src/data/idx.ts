/**
 * IDX files (MNIST / Fashion-MNIST format), optionally gzipped: a big-endian header of magic
 * (0x0000 | type 0x08 = uint8 | rank) and rank dimension sizes, then the data.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataError } from '../errors.js';

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
