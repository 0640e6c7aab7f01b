/**
 * Layer shapes and the artifact interface are derived from the built graphs: the MLP's derived
 * shapes equal the hand-written ones they replaced, the training step records the same layers as
 * the shape-only build, and the manifest equals the one that used to be written by hand.
 */
import { describe, expect, it } from 'vitest';
import { buildArtifacts } from '../src/artifacts/build.js';
import { INPUT, OUTPUT, newName, velocityName } from '../src/artifacts/interface.js';
import { Graph } from '../src/graph/builder.js';
import { modelLayers } from '../src/models/layers.js';
import { mlp } from '../src/models/mlp.js';
import { defineModel } from '../src/models/net.js';
import { getModelLayers } from '../src/models/paper.js';
import { linearShape } from '../src/models/shapes.js';

const fp = (shape: ReturnType<typeof linearShape>) => ({ ...shape, fullPrecision: true });

describe('layer shapes derived from the graph', () => {
  it('the digits MLP gives the shapes that used to be written by hand', () => {
    expect(modelLayers(mlp([64], [128], 10, 'none'))).toEqual([linearShape('fc1', 64, 128), linearShape('fc2', 128, 10)]);
    expect(getModelLayers('mlp')).toEqual([linearShape('fc1', 64, 128), linearShape('fc2', 128, 10)]);
  });

  it('a deeper MLP on 28×28 images gives one shape per layer; --fp-layers marks the first and last', () => {
    const shapes = [linearShape('fc1', 784, 256), linearShape('fc2', 256, 128), linearShape('fc3', 128, 10)];
    expect(modelLayers(mlp([1, 28, 28], [256, 128], 10, 'none'))).toEqual(shapes);
    expect(modelLayers(mlp([1, 28, 28], [256, 128], 10, 'last'))).toEqual([shapes[0], shapes[1], fp(shapes[2]!)]);
    expect(modelLayers(mlp([1, 28, 28], [256, 128], 10, 'first,last'))).toEqual([fp(shapes[0]!), shapes[1], fp(shapes[2]!)]);
  });

  it('the training step and the eval model record the same layers as the shape-only build', () => {
    for (const model of [mlp([64], [128], 10, 'last'), mlp([784], [256, 128], 10, 'first,last'), mlp([5], [], 3, 'none')]) {
      const artifacts = buildArtifacts(model);
      expect(artifacts.layers).toEqual(modelLayers(model));
      expect(artifacts.training.layers).toEqual(artifacts.layers);
      expect(artifacts.eval.layers).toEqual(artifacts.layers);
      // recorded in the Loop body, not in the outer graph
      expect(artifacts.training.graph.layers).toEqual([]);
    }
  });

  it('a linear layer takes its shape from its operands; a layer name used twice throws, naming it', () => {
    const model = (widths: number[], names: string[]) =>
      defineModel({ name: 'mlp', id: 'test', description: '', inputShape: [widths[0]!], classes: widths.at(-1)!, fpLayers: 'none' }, (net, x) =>
        names.reduce((h, name, i) => net.linear(name, h, widths[i + 1]!), x),
      );
    expect(modelLayers(model([6, 4], ['proj']))).toEqual([linearShape('proj', 6, 4)]);
    expect(() => modelLayers(model([6, 4, 2], ['fc', 'fc']))).toThrow(/fc.weight declared twice/);

    const g = new Graph('dup');
    g.recordLayer(linearShape('fc1', 2, 3));
    expect(() => g.recordLayer(linearShape('fc1', 3, 4))).toThrow('graph dup: duplicate layer name fc1');
    expect(g.layers).toEqual([linearShape('fc1', 2, 3)]);
  });
});

describe('artifact interface derived from the graphs', () => {
  // The manifest of mlp 64-128-10 (classifier at full precision), written out by hand.
  const f = 'float32' as const;
  const expectedManifest = {
    formatVersion: 4,
    model: { name: 'mlp', id: 'mlp-64-128-10', inputShape: [64], classes: 10 },
    floatType: 'float32',
    optimizer: 'sgd',
    optimizerPrecision: '',
    opset: 17,
    training: {
      file: 'training_model.onnx',
      inputs: [
        { name: 'x', dtype: f, shape: ['steps', 'batch', 64] },
        { name: 'labels', dtype: 'int64', shape: ['steps', 'batch'] },
        { name: 'bits_w', dtype: f, shape: ['steps', 'layers'] },
        { name: 'bits_a', dtype: f, shape: ['steps', 'layers'] },
        { name: 'bits_g', dtype: f, shape: ['steps', 'layers'] },
        { name: 'format_w', dtype: f, shape: ['steps', 'layers', 6] },
        { name: 'format_a', dtype: f, shape: ['steps', 'layers', 6] },
        { name: 'format_g', dtype: f, shape: ['steps', 'layers', 6] },
        { name: 'loss_scaling', dtype: f, shape: [5] },
        { name: 'loss_scale_state', dtype: f, shape: [2] },
        { name: 'lr', dtype: f, shape: ['steps'] },
        { name: 'noise_key', dtype: 'uint32', shape: ['steps'] },
        { name: 'momentum', dtype: f, shape: [] },
        { name: 'weight_decay', dtype: f, shape: [] },
        { name: 'int_kernels', dtype: 'int64', shape: [] },
      ],
      params: [
        { name: 'fc1.weight', dtype: f, shape: [64, 128] },
        { name: 'fc1.bias', dtype: f, shape: [128] },
        { name: 'fc2.weight', dtype: f, shape: [128, 10] },
        { name: 'fc2.bias', dtype: f, shape: [10] },
      ],
      optimizerState: [
        { name: 'fc1.weight.velocity', dtype: f, shape: [64, 128] },
        { name: 'fc1.bias.velocity', dtype: f, shape: [128] },
        { name: 'fc2.weight.velocity', dtype: f, shape: [128, 10] },
        { name: 'fc2.bias.velocity', dtype: f, shape: [10] },
      ],
      buffers: [{ name: 'fc1.input_range', dtype: f, shape: [3] }],
      outputs: [
        'fc1.weight.new',
        'fc1.bias.new',
        'fc2.weight.new',
        'fc2.bias.new',
        'fc1.weight.velocity.new',
        'fc1.bias.velocity.new',
        'fc2.weight.velocity.new',
        'fc2.bias.velocity.new',
        'fc1.input_range.new',
        'loss_scale_state.new',
        'loss',
        'correct',
        'loss_scale',
        'skipped',
        'underflow',
        'overflow',
      ],
      errorQuantizers: 1,
      integerLayers: 1,
      integerRowsPerSample: 1,
    },
    eval: {
      file: 'eval_model.onnx',
      inputs: [
        { name: 'x', dtype: f, shape: ['batch', 64] },
        { name: 'labels', dtype: 'int64', shape: ['batch'] },
        { name: 'bits_w', dtype: f, shape: ['layers'] },
        { name: 'bits_a', dtype: f, shape: ['layers'] },
        { name: 'format_w', dtype: f, shape: ['layers', 6] },
        { name: 'format_a', dtype: f, shape: ['layers', 6] },
        { name: 'fc1.weight', dtype: f, shape: [64, 128] },
        { name: 'fc1.bias', dtype: f, shape: [128] },
        { name: 'fc2.weight', dtype: f, shape: [128, 10] },
        { name: 'fc2.bias', dtype: f, shape: [10] },
        { name: 'fc1.input_range', dtype: f, shape: [3] },
      ],
      outputs: ['loss', 'correct', 'logits'],
    },
    checkpoint: 'checkpoint.safetensors',
    quantizedLayers: ['fc1'],
    params: [
      { name: 'fc1.weight', shape: [64, 128], decay: true },
      { name: 'fc1.bias', shape: [128], decay: false },
      { name: 'fc2.weight', shape: [128, 10], decay: true },
      { name: 'fc2.bias', shape: [10], decay: false },
    ],
    buffers: [{ name: 'fc1.input_range', shape: [3] }],
  };

  it('the MLP manifest, down to the JSON text', () => {
    const { manifest } = buildArtifacts(mlp([64], [128], 10, 'last'));
    expect(manifest).toStrictEqual(expectedManifest);
    expect(JSON.stringify(manifest, null, 2)).toBe(JSON.stringify(expectedManifest, null, 2));
  });

  it('the manifest lists exactly the built graphs\' inputs and outputs, under the interface names', () => {
    const model = mlp([784], [256, 128], 10, 'none');
    const { manifest, training, eval: evalModel } = buildArtifacts(model);
    const names = (vs: readonly { name: string }[]) => vs.map((v) => v.name);
    const params = model.params().map((p) => p.name);
    const buffers = ['fc1.input_range', 'fc2.input_range', 'fc3.input_range'];
    expect(model.buffers().map((b) => b.name)).toEqual(buffers);
    // every interface input but Adam's hyperparameters (an SGD model)
    expect(names(manifest.training.inputs)).toEqual(Object.values(INPUT).filter((n) => n !== INPUT.adam));
    expect(names([...manifest.training.inputs, ...manifest.training.params, ...manifest.training.optimizerState, ...manifest.training.buffers])).toEqual(names(training.graph.inputs));
    expect(names(manifest.training.params)).toEqual(params);
    expect(names(manifest.training.optimizerState)).toEqual(params.map(velocityName));
    expect(names(manifest.training.buffers)).toEqual(buffers);
    expect(manifest.training.outputs).toEqual([
      ...params.map(newName),
      ...params.map((p) => newName(velocityName(p))),
      ...buffers.map(newName),
      newName(INPUT.lossScaleState),
      OUTPUT.loss,
      OUTPUT.correct,
      OUTPUT.lossScale,
      OUTPUT.skipped,
      OUTPUT.underflow,
      OUTPUT.overflow,
    ]);
    expect(manifest.training.outputs).toEqual(names(training.graph.outputs));
    expect(manifest.training.errorQuantizers).toBe(3);
    expect(manifest.training.inputs.find((t) => t.name === INPUT.noiseKey)).toEqual({ name: 'noise_key', dtype: 'uint32', shape: ['steps'] });
    expect(manifest.training.params[0]).toEqual({ name: 'fc1.weight', dtype: 'float32', shape: [784, 256] });
    expect(names(manifest.eval.inputs)).toEqual([INPUT.x, INPUT.labels, INPUT.bitsWeights, INPUT.bitsActivations, INPUT.formatWeights, INPUT.formatActivations, ...params, ...buffers]);
    expect(manifest.eval.inputs[0]!.shape).toEqual(['batch', 784]);
    expect(manifest.eval.outputs).toEqual([OUTPUT.loss, OUTPUT.correct, OUTPUT.logits]);
    expect(manifest.eval.outputs).toEqual(names(evalModel.graph.outputs));
  });
});
