import type { Command } from 'commander';
import { exportArtifacts } from '../../artifacts/export.js';
import { loadDataset } from '../../data/index.js';
import { createModel } from '../../models/registry.js';
import { parseModelSpec } from '../../models/spec.js';
import { prepareOutputDirectory } from '../../util/fs.js';
import { parseIntOption, printJson } from '../output.js';
import { addModelOptions, parseDatasetOption, parseFpLayers } from '../train-options.js';

export function register(program: Command): void {
  const cmd = program
    .command('export')
    .description('write the ONNX training artifacts of a model: training_model.onnx, eval_model.onnx, checkpoint, manifest.json (the data set gives input shape and classes)')
    .option('--seed <n>', 'seed of the initial parameters in the checkpoint', '1')
    .requiredOption('--out <dir>', 'output directory')
    .option('--json', 'print one JSON object');
  addModelOptions(cmd).action((flags: { model: string; fpLayers: string; dataset: string; dataDir?: string; seed: string; out: string; json?: boolean }) => {
    const seed = parseIntOption('--seed', flags.seed, 0, 0xffffffff);
    const spec = parseModelSpec(flags.model);
    const dataset = loadDataset(parseDatasetOption(flags.dataset), { dataDir: flags.dataDir });
    const model = createModel(spec, dataset.inputShape, dataset.classes, parseFpLayers(flags.fpLayers));
    prepareOutputDirectory(flags.out, '--out');
    const result = exportArtifacts(model, flags.out, seed);
    if (flags.json) printJson({ model: model.id, ...result });
    else process.stdout.write(`exported ${model.id} to ${result.dir}: ${result.files.join(', ')}\n`);
  });
}
