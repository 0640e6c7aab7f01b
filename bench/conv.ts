/**
 * Convolution gradient formulations ("transpose" vs "im2col", src/graph/ops/conv.ts), float32,
 * one onnxruntime thread, batch 128, on the conv layer shapes of the MNIST CNN and the CIFAR
 * ResNets. Per shape: the forward Conv, then the input gradient and the weight gradient alone with
 * each formulation (the forward nodes, which a gradient does not read, are pruned from those
 * graphs: onnxruntime runs every node). Sessions of one shape run in interleaved rounds (one
 * warm-up round, then ROUNDS timed ones) so machine drift touches all alike; one JSON line per
 * (shape, part, formulation) with the median ms; `convGradFormulation` in src/graph/ops/conv.ts
 * encodes the winners. Standalone: `npx tsx bench/conv.ts`.
 */
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { Graph } from '../src/graph/builder.js';
import { gradients } from '../src/graph/autodiff.js';
import { type ConvGradMethod, conv2d } from '../src/graph/ops/conv.js';
import { encodeModel } from '../src/graph/proto.js';
import { IR_VERSION, OPSET } from '../src/artifacts/build.js';
import { median } from './common.js';

const BATCH = 128;
const ROUNDS = 9;

interface ConvBenchShape {
  cin: number;
  cout: number;
  size: number;
  stride: number;
}

const SHAPES: ConvBenchShape[] = [
  { cin: 1, cout: 32, size: 28, stride: 1 },
  { cin: 32, cout: 64, size: 14, stride: 1 },
  { cin: 16, cout: 16, size: 28, stride: 1 },
  { cin: 16, cout: 32, size: 28, stride: 2 },
  { cin: 32, cout: 32, size: 14, stride: 1 },
  { cin: 32, cout: 64, size: 14, stride: 2 },
  { cin: 64, cout: 64, size: 7, stride: 1 },
  { cin: 3, cout: 16, size: 32, stride: 1 },
  { cin: 16, cout: 16, size: 32, stride: 1 },
  { cin: 32, cout: 32, size: 16, stride: 1 },
  { cin: 64, cout: 64, size: 8, stride: 1 },
];

type Part = 'forward' | 'input' | 'weight';

/** Drop the nodes no graph output depends on. */
function pruneUnused(g: Graph): void {
  const needed = new Set(g.outputs.map((o) => o.name));
  const kept = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const node = g.nodes[i]!;
    if (!node.outputs.some((o) => needed.has(o))) continue;
    kept.push(node);
    for (const inp of node.inputs) needed.add(inp);
  }
  g.nodes.splice(0, g.nodes.length, ...kept.reverse());
}

/** Conv forward, or one of its gradients with one formulation; inputs x, w and (gradients) dy. */
function buildGraph(s: ConvBenchShape, part: Part, method: ConvGradMethod | 'onnx-conv'): Graph {
  const g = new Graph('conv_bench', 'float32');
  const x = g.input('x', 'float32', ['batch', s.cin, s.size, s.size]);
  const w = g.input('w', 'float32', [s.cout, s.cin, 3, 3]);
  const formulation = method === 'onnx-conv' ? undefined : { input: method, weight: method };
  const y = conv2d(g, x, w, null, { stride: s.stride, pad: 1, groups: 1, formulation });
  if (part === 'forward') {
    g.output(y, 'out');
    return g;
  }
  const dy = g.input('dy', 'float32', y.shape);
  const [grad] = gradients(g, y, [part === 'input' ? x : w], { seed: dy });
  g.output(grad!, 'out');
  pruneUnused(g);
  return g;
}

function randomFloats(n: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: n }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  });
}

export async function benchConvGradients(): Promise<void> {
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  const variants: { part: Part; formulation: ConvGradMethod | 'onnx-conv' }[] = [
    { part: 'forward', formulation: 'onnx-conv' },
    ...(['input', 'weight'] as const).flatMap((part) => (['transpose', 'im2col'] as const).map((formulation) => ({ part, formulation }))),
  ];
  for (const s of SHAPES) {
    const out = Math.floor((s.size + 2 - 3) / s.stride) + 1;
    const feeds = {
      x: new ort.Tensor('float32', randomFloats(BATCH * s.cin * s.size * s.size, 1), [BATCH, s.cin, s.size, s.size]),
      w: new ort.Tensor('float32', randomFloats(s.cout * s.cin * 9, 2), [s.cout, s.cin, 3, 3]),
      dy: new ort.Tensor('float32', randomFloats(BATCH * s.cout * out * out, 3), [BATCH, s.cout, out, out]),
    };
    const sessions = await Promise.all(
      variants.map(async ({ part, formulation }) => {
        const g = buildGraph(s, part, formulation);
        const bytes = encodeModel({ irVersion: IR_VERSION, opsetVersion: OPSET, producerName: 'bitcycle-bench', producerVersion: '0', graph: g.toGraphData() });
        return { session: await ort.InferenceSession.create(bytes, options), feeds: Object.fromEntries(g.inputs.map((i) => [i.name, feeds[i.name as keyof typeof feeds]])) };
      }),
    );
    const times = variants.map(() => [] as number[]);
    for (let round = 0; round <= ROUNDS; round++) {
      for (const [i, { session, feeds: f }] of sessions.entries()) {
        const t0 = performance.now();
        await session.run(f);
        if (round > 0) times[i]!.push(performance.now() - t0);
      }
    }
    await Promise.all(sessions.map(({ session }) => session.release()));
    variants.forEach(({ part, formulation }, i) => {
      const shape = `${s.cin}→${s.cout} ${s.size}×${s.size}${s.stride > 1 ? ` /${s.stride}` : ''}`;
      console.log(JSON.stringify({ bench: 'conv-grad', shape, cin: s.cin, cout: s.cout, size: s.size, stride: s.stride, batch: BATCH, part, formulation, ms: Number(median(times[i]!).toFixed(2)) }));
    });
  }
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) await benchConvGradients();
