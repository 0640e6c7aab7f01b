/** Trainable models: a model spec (src/models/spec.ts) built for a data set's input shape and class count. */
import { UsageError } from '../errors.js';
import { cnn } from './cnn.js';
import { mlp } from './mlp.js';
import { logreg } from './logreg.js';
import { DEFAULT_FP_LAYERS, type FpLayers, type ModelDef } from './model.js';
import { RESNET_MIN_INPUT, resnet } from './resnet.js';
import { type ModelSpec, formatModelSpec } from './spec.js';

/** Throws UsageError (on `option`) when the spec cannot be built for this input shape. */
export function createModel(spec: ModelSpec, inputShape: readonly number[], classes: number, fpLayers: FpLayers = DEFAULT_FP_LAYERS, option = '--model'): ModelDef {
  const images = inputShape.length === 3;
  const needImages = (): void => {
    if (!images) throw new UsageError(option, `${formatModelSpec(spec)} needs image data ([channels, height, width]); this data set gives [${inputShape.join(', ')}] (use --dataset fashion-mnist, idx or cifar10, or --model mlp)`);
  };
  switch (spec.name) {
    case 'mlp':
      return mlp(inputShape, spec.hidden, classes, fpLayers);
    case 'cnn':
      needImages();
      return cnn(inputShape, classes, fpLayers);
    case 'resnet':
      needImages();
      if (inputShape[1]! < RESNET_MIN_INPUT || inputShape[2]! < RESNET_MIN_INPUT) {
        throw new UsageError(option, `${formatModelSpec(spec)} needs images of at least ${RESNET_MIN_INPUT}×${RESNET_MIN_INPUT}; this data set gives ${inputShape[1]}×${inputShape[2]}`);
      }
      return resnet(spec.depth, inputShape, classes, fpLayers);
    case 'logreg':
      return logreg(inputShape, classes, fpLayers);
  }
}
