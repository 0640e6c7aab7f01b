/**
 * Convergence of SVRG, HALP and low-precision SGD on a convex model (docs/optimizers.md):
 * softmax regression (`logreg`) on digits with L2 λ = 1e-4, every optimizer at the same step size,
 * the full objective F(w) tracked at every epoch (`trackObjective`). The suboptimality F(w) − F*
 * uses F* from a long SVRG run (the reference).
 *
 *   npx tsx bench/convergence.ts [--epochs 1000] [--reference 4000] [--lr 8] [--out docs/data]
 *
 * Writes `convergence.csv` (epoch; each run's suboptimality and gradient norm) and
 * `convergence.svg` (the suboptimality curves, log scale) into --out, and prints the acceptance
 * checks of issue 14. `test/optimizers.test.ts` runs a short version (gradient norms, no reference).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TopLevelSpec } from 'vega-lite';
import { loadDataset } from '../src/data/index.js';
import type { AnchorRecord } from '../src/engine/events.js';
import { Trainer } from '../src/engine/trainer.js';
import { createModel } from '../src/models/registry.js';
import { parseModelSpec } from '../src/models/spec.js';
import { makeSchedule } from '../src/schedule/index.js';
import { renderSvg } from '../src/plot/render.js';

export interface ConvergenceRun {
  name: string;
  optimizer: string;
  optimizerPrecision?: string;
}

/** The runs compared: full-precision SVRG, HALP at 8 bits, SGD at fp32 and with 8-bit weights (stochastic rounding). */
export const CONVERGENCE_RUNS: readonly ConvergenceRun[] = [
  { name: 'svrg', optimizer: 'svrg' },
  { name: 'halp-8', optimizer: 'halp:bits=8:mu=0.01' },
  { name: 'sgd-8', optimizer: 'sgd', optimizerPrecision: 'weights=8:stochastic' },
  { name: 'sgd', optimizer: 'sgd' },
];

export const CONVERGENCE_SETUP = { lr: 8, batchSize: 64, weightDecay: 1e-4, seed: 1 } as const;

/** The objective at every epoch (index = epoch, the last one after the final step) of one run. */
export async function objectiveCurve(run: ConvergenceRun, epochs: number, setup = CONVERGENCE_SETUP): Promise<AnchorRecord[]> {
  const digits = loadDataset('digits');
  const trainer = new Trainer({
    runId: `convergence-${run.name}`,
    model: createModel(parseModelSpec('logreg'), digits.inputShape, digits.classes, 'none'),
    dataset: digits,
    schedule: makeSchedule('static:32'),
    gradSchedule: makeSchedule('static:32'),
    evalBits: 32,
    epochs,
    batchSize: setup.batchSize,
    lr: setup.lr,
    lrSchedule: 'constant',
    momentum: 0,
    weightDecay: setup.weightDecay,
    seed: setup.seed,
    optimizer: run.optimizer,
    optimizerPrecision: run.optimizerPrecision,
    trackObjective: true,
  });
  const curve: AnchorRecord[] = [];
  trainer.on((e) => {
    if (e.type === 'objective') curve.push(e.objective);
  });
  await trainer.init();
  await trainer.run();
  await trainer.release();
  return curve;
}

async function main(): Promise<void> {
  const arg = (name: string, fallback: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1]! : fallback;
  };
  const epochs = Number(arg('epochs', '1000'));
  const referenceEpochs = Number(arg('reference', '4000'));
  const out = arg('out', join(fileURLToPath(import.meta.url), '..', '..', 'docs', 'data'));
  const reference = await objectiveCurve({ name: 'reference', optimizer: 'svrg' }, referenceEpochs);
  const fStar = Math.min(...reference.map((r) => r.objective));
  const curves = new Map<string, AnchorRecord[]>();
  for (const run of CONVERGENCE_RUNS) curves.set(run.name, await objectiveCurve(run, epochs));
  const names = CONVERGENCE_RUNS.map((r) => r.name);
  const rows = [['epoch', ...names.flatMap((n) => [`${n}_suboptimality`, `${n}_gradient_norm`])].join(',')];
  const num = (v: number) => v.toPrecision(6);
  for (let e = 0; e <= epochs; e++) rows.push([e, ...names.flatMap((n) => [num(curves.get(n)![e]!.objective - fStar), num(curves.get(n)![e]!.gradientNorm)])].join(','));
  writeFileSync(join(out, 'convergence.csv'), `# logreg on digits, L2 1e-4, batch 64, lr 8, seed 1; F* = ${fStar} (SVRG, ${referenceEpochs} epochs)\n${rows.join('\n')}\n`);

  // the acceptance checks of issue 14
  const sub = (n: string) => curves.get(n)!.map((r) => r.objective - fStar);
  const start = sub('svrg')[0]!;
  const svrgBelow = sub('svrg').findIndex((s) => s < 1e-6 * start);
  const halpRatio = sub('svrg').map((s, e) => (s >= 1e-6 * start ? sub('halp-8')[e]! / s : 1));
  const tail = (n: string) => Math.min(...sub(n).slice(Math.floor(epochs / 2)));
  console.log(`F* = ${fStar}; start suboptimality ${start.toExponential(3)}`);
  console.log(`svrg below 1e-6 of its start at epoch ${svrgBelow} (suboptimality ${sub('svrg')[svrgBelow]?.toExponential(3)})`);
  console.log(`halp-8 / svrg while svrg is above 1e-6 of its start: max ${Math.max(...halpRatio).toFixed(2)} (epoch ${halpRatio.indexOf(Math.max(...halpRatio))})`);
  console.log(`sgd-8 plateau (best in the second half) ${tail('sgd-8').toExponential(3)} = ${(tail('sgd-8') / (1e-6 * start)).toExponential(2)} × 1e-6 of the start; sgd (fp32) ${tail('sgd').toExponential(3)}`);

  const points = names.flatMap((n) => sub(n).map((s, epoch) => ({ run: n, epoch, suboptimality: Math.max(s, 1e-12) })));
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'logreg on digits (L2 1e-4): F(w) − F* per epoch, same step size',
    width: 560,
    height: 320,
    data: { values: points },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field: 'suboptimality', type: 'quantitative', title: 'F(w) − F*', scale: { type: 'log' } },
      color: { field: 'run', type: 'nominal', title: 'optimizer', sort: names },
    },
  };
  writeFileSync(join(out, 'convergence.svg'), await renderSvg(spec));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
