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
import { linearLayer, mlp } from '../src/models/mlp.js';
import type { ModelDef, QuantContext } from '../src/models/model.js';
import { getModelLayers } from '../src/models/paper.js';
import { linearShape } from '../src/models/shapes.js';

const identityQuant = (g: Graph): QuantContext => ({
  bitsWeights: g.input('bits_w', 'float32', []),
  bitsActivations: g.input('bits_a', 'float32', []),
  errors: (v) => v,
});

describe('layer shapes derived from the graph', () => {
  it('the digits MLP gives the shapes that used to be written by hand', () => {
    expect(modelLayers(mlp(64, [128], 10))).toEqual([linearShape('fc1', 64, 128), linearShape('fc2', 128, 10)]);
    expect(getModelLayers('mlp')).toEqual([linearShape('fc1', 64, 128), linearShape('fc2', 128, 10)]);
  });

  it('a deeper MLP on 784 inputs gives one shape per layer', () => {
    expect(modelLayers(mlp(784, [256, 128], 10))).toEqual([linearShape('fc1', 784, 256), linearShape('fc2', 256, 128), linearShape('fc3', 128, 10)]);
  });

  it('the training step and the eval model record the same layers as the shape-only build', () => {
    for (const model of [mlp(64, [128], 10), mlp(784, [256, 128], 10), mlp(5, [], 3)]) {
      const artifacts = buildArtifacts(model);
      expect(artifacts.layers).toEqual(modelLayers(model));
      expect(artifacts.training.layers).toEqual(artifacts.layers);
      expect(artifacts.eval.layers).toEqual(artifacts.layers);
      // recorded in the Loop body, not in the outer graph
      expect(artifacts.training.graph.layers).toEqual([]);
    }
  });

  it('a linear layer takes its shape from its operands', () => {
    const g = new Graph('t');
    const q = identityQuant(g);
    const x = g.input('x', 'float32', ['batch', 6]);
    const w = g.input('w', 'float32', [6, 4]);
    const b = g.input('b', 'float32', [4]);
    const y = linearLayer(g, 'proj', x, w, b, q);
    expect(y.shape).toEqual(['batch', 4]);
    expect(g.layers).toEqual([linearShape('proj', 6, 4)]);

    const bad = g.input('x7', 'float32', ['batch', 7]);
    expect(() => linearLayer(g, 'mismatch', bad, w, b, q)).toThrow(/layer mismatch: input x7 must have shape \[batch, 6\], got \[batch, 7\]/);
    const symbolic = g.input('ws', 'float32', ['n', 4]);
    expect(() => linearLayer(g, 'dynamic', x, symbolic, b, q)).toThrow(/layer dynamic: weight ws must have a static shape/);
    expect(g.layers.map((l) => l.name)).toEqual(['proj']);
  });

  it('a duplicate layer name throws, naming it', () => {
    const g = new Graph('dup');
    g.recordLayer(linearShape('fc1', 2, 3));
    expect(() => g.recordLayer(linearShape('fc1', 3, 4))).toThrow('graph dup: duplicate layer name fc1');
    expect(g.layers).toEqual([linearShape('fc1', 2, 3)]);

    const base = mlp(4, [4], 2);
    const reusesName: ModelDef = {
      ...base,
      forward(g, x, params, q) {
        const h = linearLayer(g, 'fc', x, params.get('fc1.weight')!, params.get('fc1.bias')!, q);
        return linearLayer(g, 'fc', h, params.get('fc2.weight')!, params.get('fc2.bias')!, q);
      },
    };
    expect(() => modelLayers(reusesName)).toThrow(/duplicate layer name fc$/);
  });
});

describe('artifact interface derived from the graphs', () => {
  // The manifest of mlp 64-128-10 as it was written by hand before it was derived from the graphs.
  const f = 'float32' as const;
  const expectedManifest = {
    formatVersion: 1,
    model: { name: 'mlp', id: 'mlp-64-128-10', inputShape: [64], classes: 10 },
    floatType: 'float32',
    opset: 17,
    training: {
      file: 'training_model.onnx',
      inputs: [
        { name: 'x', dtype: f, shape: ['steps', 'batch', 64] },
        { name: 'labels', dtype: 'int64', shape: ['steps', 'batch'] },
        { name: 'bits_w', dtype: f, shape: ['steps'] },
        { name: 'bits_a', dtype: f, shape: ['steps'] },
        { name: 'bits_g', dtype: f, shape: ['steps'] },
        { name: 'lr', dtype: f, shape: ['steps'] },
        { name: 'noise', dtype: f, shape: ['steps', 'batch', 138] },
        { name: 'momentum', dtype: f, shape: [] },
        { name: 'weight_decay', dtype: f, shape: [] },
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
      outputs: [
        'fc1.weight.new',
        'fc1.bias.new',
        'fc2.weight.new',
        'fc2.bias.new',
        'fc1.weight.velocity.new',
        'fc1.bias.velocity.new',
        'fc2.weight.velocity.new',
        'fc2.bias.velocity.new',
        'loss',
        'correct',
      ],
      noiseWidth: 138,
    },
    eval: {
      file: 'eval_model.onnx',
      inputs: [
        { name: 'x', dtype: f, shape: ['batch', 64] },
        { name: 'labels', dtype: 'int64', shape: ['batch'] },
        { name: 'bits_w', dtype: f, shape: [] },
        { name: 'bits_a', dtype: f, shape: [] },
        { name: 'fc1.weight', dtype: f, shape: [64, 128] },
        { name: 'fc1.bias', dtype: f, shape: [128] },
        { name: 'fc2.weight', dtype: f, shape: [128, 10] },
        { name: 'fc2.bias', dtype: f, shape: [10] },
      ],
      outputs: ['loss', 'correct', 'logits'],
    },
    checkpoint: 'checkpoint.safetensors',
    params: [
      { name: 'fc1.weight', shape: [64, 128], decay: true },
      { name: 'fc1.bias', shape: [128], decay: false },
      { name: 'fc2.weight', shape: [128, 10], decay: true },
      { name: 'fc2.bias', shape: [10], decay: false },
    ],
  };

  it('the MLP manifest is unchanged, down to the JSON text', () => {
    const { manifest } = buildArtifacts(mlp(64, [128], 10));
    expect(manifest).toStrictEqual(expectedManifest);
    expect(JSON.stringify(manifest, null, 2)).toBe(JSON.stringify(expectedManifest, null, 2));
  });

  it('the manifest lists exactly the built graphs\' inputs and outputs, under the interface names', () => {
    const model = mlp(784, [256, 128], 10);
    const { manifest, training, eval: evalModel } = buildArtifacts(model);
    const names = (vs: readonly { name: string }[]) => vs.map((v) => v.name);
    const params = model.params().map((p) => p.name);
    expect(names(manifest.training.inputs)).toEqual(Object.values(INPUT));
    expect(names([...manifest.training.inputs, ...manifest.training.params, ...manifest.training.optimizerState])).toEqual(names(training.graph.inputs));
    expect(names(manifest.training.params)).toEqual(params);
    expect(names(manifest.training.optimizerState)).toEqual(params.map(velocityName));
    expect(manifest.training.outputs).toEqual([...params.map(newName), ...params.map((p) => newName(velocityName(p))), OUTPUT.loss, OUTPUT.correct]);
    expect(manifest.training.outputs).toEqual(names(training.graph.outputs));
    expect(manifest.training.noiseWidth).toBe(256 + 128 + 10);
    expect(manifest.training.inputs.find((t) => t.name === INPUT.noise)!.shape).toEqual(['steps', 'batch', 394]);
    expect(manifest.training.params[0]).toEqual({ name: 'fc1.weight', dtype: 'float32', shape: [784, 256] });
    expect(names(manifest.eval.inputs)).toEqual([INPUT.x, INPUT.labels, INPUT.bitsWeights, INPUT.bitsActivations, ...params]);
    expect(manifest.eval.inputs[0]!.shape).toEqual(['batch', 784]);
    expect(manifest.eval.outputs).toEqual([OUTPUT.loss, OUTPUT.correct, OUTPUT.logits]);
    expect(manifest.eval.outputs).toEqual(names(evalModel.graph.outputs));
  });
});
