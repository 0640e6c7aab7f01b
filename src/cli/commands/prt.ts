import type { Command } from 'commander';
import { loadDataset } from '../../data/index.js';
import { UsageError } from '../../errors.js';
import { createModel } from '../../models/registry.js';
import { parseModelSpec } from '../../models/spec.js';
import { errorSchedule } from '../../schedule/precision.js';
import { parseFloatOption, parseIntOption, printJson } from '../output.js';
import { addModelOptions, addOptimizerOptions, optimizerConfig, parseDatasetOption, parseFpLayers } from '../train-options.js';

interface Flags {
  model: string;
  fpLayers: string;
  dataset: string;
  dataDir?: string;
  from: string;
  staticBits: string;
  gradBits: string;
  burstEpochs: string;
  threshold: string;
  batchSize: string;
  lr: string;
  momentum: string;
  optimizer?: string;
  optimizerPrecision?: string;
  weightDecay: string;
  seed: string;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('prt')
    .description('precision range test: short training bursts at rising precision to find CPT\'s Bmin')
    .option('--from <bits>', 'lowest precision to try', '2')
    .option('--static-bits <bits>', 'the static precision you would train at: Bmax of the suggestion', '8')
    .option('--grad-bits <bits|spec>', 'bit-width of back-propagated errors', '8')
    .option('--burst-epochs <n>', 'epochs per burst; accuracy is the mean over the last one', '2')
    .option('--threshold <points>', 'an extra bit must raise training accuracy by more than this many percentage points', '1')
    .option('--json', 'print one JSON object');
  addOptimizerOptions(addModelOptions(cmd)).action(async (f: Flags) => {
    const fromBits = parseIntOption('--from', f.from, 1, 32);
    const staticBits = parseIntOption('--static-bits', f.staticBits, 1, 32);
    if (fromBits > staticBits) throw new UsageError('--from', `must not exceed --static-bits (${staticBits}), got ${fromBits}`);
    const spec = parseModelSpec(f.model);
    const gradSchedule = errorSchedule(f.gradBits);
    const dataset = loadDataset(parseDatasetOption(f.dataset), { dataDir: f.dataDir });
    const model = createModel(spec, dataset.inputShape, dataset.classes, parseFpLayers(f.fpLayers));
    const { precisionRangeTest } = await import('../../engine/prt.js');
    const log = (line: string) => (f.json ? process.stderr : process.stdout).write(line + '\n');
    const result = await precisionRangeTest({
      model,
      dataset,
      gradSchedule,
      fromBits,
      staticBits,
      burstEpochs: parseIntOption('--burst-epochs', f.burstEpochs, 1, 10_000),
      batchSize: parseIntOption('--batch-size', f.batchSize, 1, 1 << 16),
      lr: parseFloatOption('--lr', f.lr, 0),
      ...optimizerConfig(f),
      weightDecay: parseFloatOption('--weight-decay', f.weightDecay, 0),
      seed: parseIntOption('--seed', f.seed, 0, 0xffffffff),
      threshold: parseFloatOption('--threshold', f.threshold, 0, 100) / 100,
      onBurst: (b) => log(`${String(b.bits).padStart(2)} bits: train accuracy ${(100 * b.trainAccuracy).toFixed(2)} %  loss ${b.trainLoss.toFixed(4)}`),
    });
    if (f.json) printJson(result);
    else log(`Bmin = ${result.bitsMin} (lowest precision where one more bit adds ≤ ${f.threshold} points); suggested schedule: ${result.suggestion}`);
  });
}
