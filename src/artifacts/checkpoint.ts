/**
 * Checkpoints in the safetensors layout: 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets}, __metadata__: {…strings}}`, then the raw tensor bytes.
 * Holds parameters, optimizer state (`<param>.velocity`, `<param>.exp_avg`, `optimizer.step`, …) and the run position in the metadata.
 */
import { readFileSync } from 'node:fs';
import { RunError } from '../errors.js';
import type { Init, ModelDef } from '../models/model.js';
import { writeFileAtomic } from '../util/fs.js';
import { Rng, mixSeed } from '../util/random.js';
import { type OptimizerSpec, SGD, globalSlots, parameterSlots, stateName } from '../optim/optimizer.js';

export interface CheckpointTensor {
  shape: number[];
  data: Float32Array;
}

export interface Checkpoint {
  tensors: Map<string, CheckpointTensor>;
  metadata: Record<string, string>;
}

export function encodeCheckpoint(ckpt: Checkpoint): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: ckpt.metadata };
  let offset = 0;
  const names = [...ckpt.tensors.keys()];
  for (const name of names) {
    const t = ckpt.tensors.get(name)!;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const t = ckpt.tensors.get(name)!;
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array, file: string): Checkpoint {
  const fail = (why: string): never => {
    throw new RunError(file, `damaged checkpoint: ${why}`);
  };
  if (bytes.length < 8) fail('shorter than its header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.length) fail('header length past end of file');
  let header: Record<string, any>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8'));
  } catch {
    return fail('header is not JSON');
  }
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, CheckpointTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (entry?.dtype !== 'F32' || !Array.isArray(entry.shape) || !Array.isArray(entry.data_offsets)) fail(`tensor ${name}: expected dtype F32 with shape and data_offsets`);
    const [begin, end] = entry.data_offsets as [number, number];
    const count = (entry.shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== 4 * count || dataStart + end > bytes.length) fail(`tensor ${name}: data_offsets do not match shape ${JSON.stringify(entry.shape)}`);
    const copy = bytes.slice(dataStart + begin, dataStart + end);
    tensors.set(name, { shape: entry.shape, data: new Float32Array(copy.buffer, copy.byteOffset, count) });
  }
  return { tensors, metadata: (header.__metadata__ ?? {}) as Record<string, string> };
}

export function writeCheckpoint(file: string, ckpt: Checkpoint): void {
  writeFileAtomic(file, encodeCheckpoint(ckpt));
}

export function readCheckpoint(file: string): Checkpoint {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new RunError(file, 'checkpoint not found');
  }
  return decodeCheckpoint(bytes, file);
}

const PURPOSE_INIT = 0x1a17;

/** Fill `data` from an initialisation, with a generator seeded from (seed, purpose, index). */
function fillInit(data: Float32Array, init: Init, rng: Rng): void {
  switch (init.kind) {
    case 'constant':
      data.fill(init.value);
      return;
    case 'uniform':
      for (let k = 0; k < data.length; k++) data[k] = (rng.next() * 2 - 1) * init.bound;
      return;
    case 'normal':
      // Box–Muller, two values per pair of draws
      for (let k = 0; k < data.length; k += 2) {
        const radius = Math.sqrt(-2 * Math.log(1 - rng.next())) * init.std;
        const angle = 2 * Math.PI * rng.next();
        data[k] = radius * Math.cos(angle);
        if (k + 1 < data.length) data[k + 1] = radius * Math.sin(angle);
      }
  }
}

/**
 * The state a run starts from: parameters drawn by their `init` from the run seed (one generator
 * per parameter), the optimizer's state zero, buffers at their starting values.
 */
export function initialCheckpoint(model: ModelDef, seed: number, optimizer: OptimizerSpec = SGD): Checkpoint {
  const tensors = new Map<string, CheckpointTensor>();
  const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  model.params().forEach((p, i) => {
    const data = new Float32Array(size(p.shape));
    fillInit(data, p.init, new Rng(mixSeed(seed, PURPOSE_INIT, i)));
    tensors.set(p.name, { shape: p.shape, data });
  });
  for (const slot of parameterSlots(optimizer)) model.params().forEach((p) => tensors.set(stateName(p.name, slot), { shape: p.shape, data: new Float32Array(size(p.shape)) }));
  for (const name of globalSlots(optimizer)) tensors.set(name, { shape: [], data: new Float32Array(1) });
  model.buffers().forEach((b) => tensors.set(b.name, { shape: b.shape, data: new Float32Array(size(b.shape)).fill(b.init) }));
  return { tensors, metadata: { step: '0', seed: String(seed) } };
}
