import { describe, expect, it } from 'vitest';
import { getModelLayers, getShapeModel, modelMacsPerSample, paperModels } from '../src/models/paper.js';
import { macsPerSample } from '../src/models/shapes.js';

describe('paper-scale models (shapes only)', () => {
  it('CIFAR ResNets have depth 6n+2 GEMM layers', () => {
    expect(getModelLayers('resnet-38')).toHaveLength(38);
    expect(getModelLayers('resnet-74')).toHaveLength(74);
    const r74 = getModelLayers('resnet-74');
    expect(r74[0]).toMatchObject({ name: 'conv1', inFeatures: 27, outFeatures: 16, positions: 1024 });
    expect(r74.find((l) => l.name === 'layer2.0.conv1')).toMatchObject({ inFeatures: 144, outFeatures: 32, positions: 256, inputElements: 16 * 32 * 32 });
    expect(r74.find((l) => l.name === 'layer3.11.conv2')).toMatchObject({ inFeatures: 576, outFeatures: 64, positions: 64 });
    expect(r74[73]).toMatchObject({ name: 'fc', kind: 'linear', inFeatures: 64, outFeatures: 10 });
  });

  it('ImageNet ResNets match the well-known MAC and weight counts', () => {
    const r18 = getModelLayers('resnet-18');
    const r50 = getModelLayers('resnet-50');
    expect(modelMacsPerSample(r18) / 1e9).toBeCloseTo(1.814, 3);
    expect(modelMacsPerSample(r50) / 1e9).toBeCloseTo(4.089, 3);
    // weights of convs and fc (no biases, no batch norm): torchvision's 11.69 M / 25.56 M parameters minus those
    expect(r18.reduce((s, l) => s + l.weightElements, 0)).toBe(11_678_912);
    expect(r50.reduce((s, l) => s + l.weightElements, 0)).toBe(25_502_912);
  });

  it('MobileNetV2 (CIFAR) counts depthwise convolutions as grouped GEMMs', () => {
    const layers = getModelLayers('mobilenet-v2');
    const dw = layers.find((l) => l.name === 'block1.depthwise')!;
    expect(dw).toMatchObject({ inFeatures: 9, outFeatures: 96, groups: 96, positions: 32 * 32 });
    expect(macsPerSample(dw)).toBe(9 * 96 * 1024);
    expect(layers.reduce((s, l) => s + l.weightElements, 0)).toBe(2_261_824);
  });

  it('the trainable mlp is fc1 64→128, fc2 128→10', () => {
    expect(getModelLayers('mlp').map((l) => [l.name, l.inFeatures, l.outFeatures])).toEqual([
      ['fc1', 64, 128],
      ['fc2', 128, 10],
    ]);
    expect(getShapeModel('mlp').dataset).toBe('digits');
  });

  it('every model states its data set and input shape; unknown names list the known ones', () => {
    for (const m of Object.values(paperModels)) {
      expect(m.inputShape.length).toBeGreaterThan(0);
      expect(m.trainSamples).toBeGreaterThan(0);
    }
    expect(() => getModelLayers('vgg-16')).toThrow(/--model: unknown model "vgg-16" \(known: resnet-38, resnet-74/);
  });
});
