import type { Command } from 'commander';
import { exportArtifacts } from '../../artifacts/export.js';
import { loadDataset } from '../../data/index.js';
import { createModel } from '../../models/registry.js';
import { parseIntOption, printJson } from '../output.js';

export function register(program: Command): void {
  program
    .command('export')
    .description('write the ONNX training artifacts of a model: training_model.onnx, eval_model.onnx, checkpoint, manifest.json')
    .option('--model <name>', 'trainable model', 'mlp')
    .option('--hidden <widths>', 'hidden layer widths of the MLP, comma-separated', '128')
    .option('--dataset <name>', 'data set whose input shape and classes the model takes', 'digits')
    .option('--data-dir <dir>', 'read the data set from this directory')
    .option('--seed <n>', 'seed of the initial parameters in the checkpoint', '1')
    .requiredOption('--out <dir>', 'output directory')
    .option('--json', 'print one JSON object')
    .action((flags: { model: string; hidden: string; dataset: string; dataDir?: string; seed: string; out: string; json?: boolean }) => {
      const seed = parseIntOption('--seed', flags.seed, 0, 0xffffffff);
      const hidden = flags.hidden.split(',').map((w) => parseIntOption('--hidden', w, 1, 1 << 16));
      const dataset = loadDataset(flags.dataset, { dataDir: flags.dataDir });
      const model = createModel(flags.model, dataset.inputShape, dataset.classes, { hidden });
      const result = exportArtifacts(model, flags.out, seed);
      if (flags.json) printJson({ model: model.id, ...result });
      else process.stdout.write(`exported ${model.id} to ${result.dir}: ${result.files.join(', ')}\n`);
    });
}
