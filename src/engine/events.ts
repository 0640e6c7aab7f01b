/**
 * Events the engine emits while training. The run session subscribes (and adds what it knows,
 * see src/runs/events.ts); the engine knows none of its consumers. Steps arrive in batches (one
 * per ONNX `run()` of K steps) so a consumer in another thread gets one message per batch.
 */

export interface StepRecord {
  /** Global 0-based iteration. */
  step: number;
  /** 0-based epoch the step belongs to. */
  epoch: number;
  bitsWeights: number;
  bitsActivations: number;
  bitsGrad: number;
  /** Number formats (src/formats/precision.ts names: `int6`, `fp8-e4m3`, `fp32`). */
  formatWeights: string;
  formatActivations: string;
  formatGrad: string;
  /** The loss scale of the step's backward pass (1 without loss scaling; absent in older records). */
  lossScale?: number;
  /** A dynamic loss scale skipped this step's update (non-finite gradients). */
  skipped?: boolean;
  /** Per error quantizer (backward order: last layer first): errors that underflowed to 0, overflowed. */
  underflow?: number[];
  overflow?: number[];
  lr: number;
  /** Mean cross-entropy of the batch. */
  loss: number;
  /** Fraction of the batch classified correctly (0..1). */
  trainAcc: number;
  /** Wall time since the run (or resumed session) started, in ms. */
  wallMs: number;
  /**
   * With a per-layer precision plan: each quantized layer's formats, `W/G` (weights and
   * activations / errors, e.g. `int4/int8`), in the order of the manifest's `quantizedLayers`;
   * the columns above then hold the plan's default schedules.
   */
  layerFormats?: string[];
}

/** SVRG's anchor: the full gradient taken at the start of step `step` (src/optim, docs/optimizers.md). */
export interface AnchorRecord {
  step: number;
  /** Mean training loss at the anchor (the whole training split, no augmentation). */
  loss: number;
  /** The objective: mean loss + wd/2 · Σ‖W‖² over the decayed parameters. */
  objective: number;
  /** ‖∇ objective‖ at the anchor (the full gradient plus wd·W). */
  gradientNorm: number;
}

export interface EvalRecord {
  /** 0-based epoch just finished. */
  epoch: number;
  /** Global step count at evaluation time (steps done so far). */
  step: number;
  testLoss: number;
  testAcc: number;
  bits: number;
  /** The evaluation's number format when it is not the integer grid of `bits` (`fp8-e4m3`). */
  format?: string;
}

/**
 * How a run ended. A value that does not exist is null, never NaN: no evaluation yet, a run that
 * diverged (its final weights are not a model), no step trained in this session.
 */
export interface RunSummary {
  testAccuracy: number | null;
  testLoss: number | null;
  /** Best test accuracy over every evaluation of the run (earlier sessions included). */
  bestTestAccuracy: number | null;
  finalTrainLoss: number | null;
  steps: number;
  stepsPerSecond: number | null;
  wallS: number;
}

/** Where a run diverged: the first step whose loss (or test loss, or state) is not finite. */
export interface Divergence {
  step: number;
  /** What was non-finite: the step's training loss, the test loss after it, or the weights. */
  quantity: 'train loss' | 'test loss' | 'weights';
  /** The value as text (`NaN`, `Infinity`, `-Infinity`): JSON has no non-finite numbers. */
  value: string;
}

export type EngineEvent =
  | {
      type: 'start';
      runId: string;
      totalSteps: number;
      stepsPerEpoch: number;
      epochs: number;
      /** First step of this session (> 0 when resuming). */
      startStep: number;
      /** Problems worth telling the user (e.g. a schedule too short to cycle). */
      warnings?: string[];
      /** With a per-layer precision plan: one line per quantized layer, its schedules (`plannedLayerLines`). */
      plan?: string[];
    }
  | { type: 'steps'; steps: StepRecord[] }
  | { type: 'eval'; eval: EvalRecord }
  | { type: 'anchor'; anchor: AnchorRecord }
  /** The full training objective at a step (`--objective`): at every epoch's start and at the end. */
  | { type: 'objective'; objective: AnchorRecord }
  /** A consistent point to checkpoint at (end of an epoch); the session decides whether to write. */
  | { type: 'checkpoint'; step: number }
  | { type: 'paused'; paused: boolean }
  | { type: 'end'; status: 'completed' | 'stopped' | 'diverged' | 'failed'; summary: RunSummary | null; error?: string; divergence?: Divergence };

export type EngineListener = (event: EngineEvent) => void;
