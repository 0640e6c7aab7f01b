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
  lr: number;
  /** Mean cross-entropy of the batch. */
  loss: number;
  /** Fraction of the batch classified correctly (0..1). */
  trainAcc: number;
  /** Wall time since the run (or resumed session) started, in ms. */
  wallMs: number;
}

export interface EvalRecord {
  /** 0-based epoch just finished. */
  epoch: number;
  /** Global step count at evaluation time (steps done so far). */
  step: number;
  testLoss: number;
  testAcc: number;
  bits: number;
}

export interface RunSummary {
  testAccuracy: number;
  testLoss: number;
  bestTestAccuracy: number;
  finalTrainLoss: number;
  steps: number;
  stepsPerSecond: number;
  wallS: number;
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
    }
  | { type: 'steps'; steps: StepRecord[] }
  | { type: 'eval'; eval: EvalRecord }
  /** A consistent point to checkpoint at (end of an epoch); the session decides whether to write. */
  | { type: 'checkpoint'; step: number }
  | { type: 'paused'; paused: boolean }
  | { type: 'end'; status: 'completed' | 'stopped' | 'failed'; summary: RunSummary | null; error?: string };

export type EngineListener = (event: EngineEvent) => void;
