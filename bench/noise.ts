/**
 * Cost of the in-graph stochastic-rounding noise (src/quant/noise.ts) against the host-fed noise
 * it replaces, on one onnxruntime thread. `npx tsx bench/noise.ts` prints one JSON line per tensor
 * shape and approach:
 * - in-graph hash: a Loop whose body asks StepNoise for the noise of one tensor per step. msPerStep
 *   is the marginal cost of one more step; msPerRun is the once-per-run() work (counter H and
 *   coefficient table in the outer graph).
 * - host table: the trainer's current path. Per step, a memcpy of the step's window of a U[0,1)
 *   table into the [K, B, W] input (memcpyMsPerStep), then in the graph a Gather of the step and a
 *   Slice of the tensor's columns, as build.ts emits them (graphMsPerStep).
 * Both graphs consume the noise with a ReduceSum; the same Loop reducing the tensor itself is
 * subtracted. Per-step figures come from the difference between STEPS trip counts, medians over
 * REPEATS runs. bytes: memory that holds noise or its precursor for a whole run() of K =
 * chunkSteps steps (the hash's per-step working buffers, freed after use, are not counted).
 */
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { IR_VERSION, OPSET } from '../src/artifacts/build.js';
import { DEFAULT_CHUNK_STEPS } from '../src/engine/trainer.js';
import { Graph, type Value } from '../src/graph/builder.js';
import { encodeModel } from '../src/graph/proto.js';
import { StepNoise } from '../src/quant/noise.js';
import { Rng, mixSeed } from '../src/util/random.js';
import { median } from './common.js';

const SHAPES = [
  [128, 32, 28, 28],
  [128, 64, 14, 14],
];
const STEPS = [2, 8] as const;
const REPEATS = 5;

type Approach = 'none' | 'hash' | 'table';

/** A Loop of one step per entry of `keys`; each step reduces the noise of `like` (or `like` itself). */
async function loopSession(shape: readonly number[], approach: Approach): Promise<ort.InferenceSession> {
  const rest = shape.slice(1);
  const width = rest.reduce((a, b) => a * b, 1);
  const outer = new Graph('noise_bench');
  const keys = outer.input('keys', 'uint32', ['steps']);
  const like = outer.input('like', 'float32', ['rows', ...rest]);
  const table = approach === 'table' ? outer.input('noise', 'float32', ['steps', 'rows', width]) : null;
  const body = new Graph('step', 'float32', 'step/');
  const iter = body.input('step/iter', 'int64', []);
  const cond = body.input('step/cond_in', 'bool', []);
  const noise = approach === 'hash' ? new StepNoise(outer, keys, body, iter) : null;
  let consumed: Value = noise ? noise.emit(like) : like;
  if (table) {
    const step = body.emit1('Gather', [table, iter], { axis: 0 }, 'float32', ['rows', width], 'noise_step');
    const slice = body.emit1('Slice', [step, body.ints([0]), body.ints([width]), body.ints([1])], {}, 'float32', ['rows', width], 'noise_slice');
    consumed = body.emit1('Reshape', [slice, body.ints([-1, ...rest])], {}, 'float32', like.shape, 'noise_shaped');
  }
  body.output(body.emit1('Identity', [cond], {}, 'bool', [], 'cond_out'));
  body.output(body.emit1('ReduceSum', [consumed], { keepdims: 0 }, 'float32', [], 'sum'));
  const first = (v: Value) => outer.emit1('Squeeze', [outer.emit1('Shape', [v], { start: 0, end: 1 }, 'int64', [1]), outer.ints([0])], {}, 'int64', []);
  noise?.finish(first(like));
  const [sums] = outer.emit('Loop', [first(keys), outer.constant('bool', [], [1])], { body: { kind: 'graph', value: body.toGraphData() } }, [{ dtype: 'float32', shape: ['steps'] }]);
  outer.output(sums!, 'sums');
  const bytes = encodeModel({ irVersion: IR_VERSION, opsetVersion: OPSET, producerName: 'bitcycle-bench', producerVersion: '0', graph: outer.toGraphData() });
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
}

/** Median ms of session.run with K steps (after one warm-up run). */
async function timeRun(s: ort.InferenceSession, shape: readonly number[], K: number, approach: Approach): Promise<number> {
  const n = shape.reduce((a, b) => a * b, 1);
  const feeds: Record<string, ort.Tensor> = {
    keys: new ort.Tensor('uint32', Uint32Array.from({ length: K }, (_, t) => mixSeed(1, t)), [K]),
    like: new ort.Tensor('float32', new Float32Array(n).fill(0.25), [...shape]),
  };
  if (approach === 'table') feeds.noise = new ort.Tensor('float32', new Float32Array(K * n).fill(0.5), [K, shape[0]!, n / shape[0]!]);
  await s.run(feeds);
  const times: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    await s.run(feeds);
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Per-step and per-run ms of an approach, net of the same Loop without noise. */
async function loopCost(shape: readonly number[], approach: Approach, base: ort.InferenceSession): Promise<{ perStep: number; perRun: number }> {
  const s = await loopSession(shape, approach);
  const extra: number[] = [];
  for (const K of STEPS) extra.push((await timeRun(s, shape, K, approach)) - (await timeRun(base, shape, K, 'none')));
  await s.release();
  const perStep = (extra[1]! - extra[0]!) / (STEPS[1] - STEPS[0]);
  return { perStep, perRun: extra[0]! - STEPS[0] * perStep };
}

/** The trainer's per-step copy of a window of its noise table into the [K, B, W] input. */
function memcpyMs(n: number): number {
  const table = new Float32Array(Math.max(1 << 18, 4 * n));
  new Rng(1).fillUniform(table);
  const chunk = new Float32Array(4 * n);
  const times: number[] = [];
  for (let r = 0; r < 4 * REPEATS; r++) {
    const start = mixSeed(2, r) % (table.length - n + 1);
    const t0 = performance.now();
    chunk.set(table.subarray(start, start + n), (r % 4) * n);
    times.push(performance.now() - t0);
  }
  return median(times);
}

const round = (v: number, digits = 2) => Number(v.toFixed(digits));

export async function benchNoise(): Promise<void> {
  for (const shape of SHAPES) {
    const n = shape.reduce((a, b) => a * b, 1);
    const millions = n / 1e6;
    const base = await loopSession(shape, 'none');
    const hash = await loopCost(shape, 'hash', base);
    const table = await loopCost(shape, 'table', base);
    await base.release();
    const copy = memcpyMs(n);
    const line = (fields: Record<string, unknown>) => console.log(JSON.stringify({ bench: 'noise', shape, values: n, threads: 1, ...fields }));
    line({
      approach: 'in-graph hash',
      msPerStep: round(hash.perStep),
      msPerMillion: round(hash.perStep / millions),
      msPerRun: round(hash.perRun),
      msPerMillionWithRun: round((hash.perStep + hash.perRun / DEFAULT_CHUNK_STEPS) / millions), // per-run work spread over a chunk
      bytes: 4 * n, // the counter (uint32 per element); the coefficient table is K·4·layers uint32
      chunkSteps: DEFAULT_CHUNK_STEPS,
    });
    line({
      approach: 'host table',
      memcpyMsPerStep: round(copy),
      graphMsPerStep: round(table.perStep),
      msPerMillion: round((copy + table.perStep) / millions),
      bytes: 4 * (DEFAULT_CHUNK_STEPS * n + Math.max(1 << 18, 4 * n)), // [K, B, W] input + table of max(2^18, 4·B·W) floats
      chunkSteps: DEFAULT_CHUNK_STEPS,
    });
  }
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) await benchNoise();
