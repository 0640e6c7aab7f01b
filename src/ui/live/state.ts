/**
 * State of the live training view: one reducer fed by session events (src/runs/events.ts) and key
 * actions. Costs arrive computed (totals, savings and breakdown); the view only shows them.
 * Memory stays bounded whatever the run length: curves are kept in a fixed number of buckets
 * over the whole run, evals are one per epoch.
 */
import type { EvalRecord, RunSummary } from '../../engine/events.js';
import type { CostBreakdown, RunCost } from '../../hw/tally.js';
import { formatModelSpec } from '../../models/spec.js';
import type { SessionEvent, SessionStartEvent } from '../../runs/events.js';
import { sanitizeShort } from '../../util/text.js';

/** Shown in the header; known from the session's start event. Every string is sanitized (a resumed run's config comes from a file). */
export interface LiveHeader {
  runId: string;
  /** Model spec, e.g. `mlp:hidden=128`. */
  model: string;
  dataset: string;
  /** Weights/activations schedule, e.g. `cpt:3-8`. */
  schedule: string;
  /** Gradient bits spec, e.g. `8`. */
  gradBits: string;
  /** Hardware profile name, or `none`. */
  profile: string;
  /** Baseline schedule of the cost counterfactual, e.g. `static:8`. */
  baseline: string;
  batchSize: number;
}

export function liveHeader(start: SessionStartEvent): LiveHeader {
  const c = start.config;
  const clean = (text: string) => sanitizeShort(String(text), 120);
  return {
    runId: clean(start.runId),
    model: clean(formatModelSpec(c.model)),
    dataset: clean(c.dataset),
    schedule: clean(c.schedule),
    gradBits: clean(c.gradBits),
    profile: clean(c.profile),
    baseline: clean(c.baseline),
    batchSize: c.batchSize,
  };
}

/** What the live store accepts: session events and UI actions. */
export type LiveEvent = SessionEvent | { type: 'ui'; action: LiveUiAction };

export type LiveUiAction = 'toggle-help' | 'close-help' | 'cycle-panel' | 'request-pause' | 'request-resume' | 'request-stop';

export type LivePanel = 'totals' | 'layers' | 'phases';
export const LIVE_PANELS: readonly LivePanel[] = ['totals', 'layers', 'phases'];

export type LiveStatus = 'starting' | 'running' | 'pausing' | 'paused' | 'resuming' | 'stopping' | 'completed' | 'stopped' | 'diverged' | 'failed';

/** Where a run diverged (the end event of a diverged run carries it). */
export interface LiveDivergence {
  step: number;
  quantity: string;
  value: string;
}

/** Number of x buckets the curves keep over the whole run. */
export const CURVE_BUCKETS = 240;

/** What the error quantizers reported: the last step's loss scale and counts, and totals this session. */
export interface LiveNumerics {
  lossScale: number;
  /** Per error quantizer, the last step's counts (backward order: last layer first). */
  underflow: number[];
  overflow: number[];
  underflowTotal: number;
  overflowTotal: number;
  skipped: number;
}

export interface LiveState {
  /** Null until the session's start event. */
  header: LiveHeader | null;
  bitsWA: ArrayLike<number>;
  bitsGrad: ArrayLike<number>;
  totalSteps: number;
  stepsPerEpoch: number;
  epochs: number;
  startStep: number;
  /** Steps done (global): the next step to run. */
  step: number;
  epoch: number;
  status: LiveStatus;
  error?: string;
  divergence?: LiveDivergence;
  /** Sums per bucket over the whole run; mean = sum / count. */
  lossSum: Float64Array;
  accSum: Float64Array;
  count: Float64Array;
  lastLoss: number | null;
  lastTrainAcc: number | null;
  evals: EvalRecord[];
  /** Recent (wallMs, step) samples for steps/s. */
  rateSamples: { wallMs: number; step: number }[];
  stepsPerSecond: number | null;
  /** The run's cost so far as the session computed it (whole run, also after a resume). */
  cost: RunCost | null;
  breakdown: CostBreakdown | null;
  lastCheckpointStep: number | null;
  /** Loss scaling and error underflow/overflow (float formats; docs/number-formats.md); null until a step reports them. */
  numerics: LiveNumerics | null;
  summary: RunSummary | null;
  help: boolean;
  panel: LivePanel;
  /** Increments on every change. */
  version: number;
}

export function initialLiveState(): LiveState {
  return {
    header: null,
    bitsWA: [],
    bitsGrad: [],
    totalSteps: 0,
    stepsPerEpoch: 0,
    epochs: 0,
    startStep: 0,
    step: 0,
    epoch: 0,
    status: 'starting',
    lossSum: new Float64Array(CURVE_BUCKETS),
    accSum: new Float64Array(CURVE_BUCKETS),
    count: new Float64Array(CURVE_BUCKETS),
    lastLoss: null,
    lastTrainAcc: null,
    evals: [],
    rateSamples: [],
    stepsPerSecond: null,
    cost: null,
    breakdown: null,
    lastCheckpointStep: null,
    numerics: null,
    summary: null,
    help: false,
    panel: 'totals',
    version: 0,
  };
}

export function bucketOf(step: number, totalSteps: number): number {
  if (totalSteps <= 0) return 0;
  return Math.min(CURVE_BUCKETS - 1, Math.max(0, Math.floor((step * CURVE_BUCKETS) / totalSteps)));
}

const RATE_WINDOW = 24;
const RATE_MIN_SPACING_MS = 200;

/** Statuses of a session still going; any other status (completed, stopped, diverged, failed, or one added later) is an end. */
const ACTIVE: ReadonlySet<string> = new Set(['starting', 'running', 'pausing', 'paused', 'resuming', 'stopping']);
const finished = (s: LiveStatus) => !ACTIVE.has(s);

export function liveReducer(state: LiveState, event: LiveEvent): LiveState {
  const next = reduce(state, event);
  return next === state ? state : { ...next, version: state.version + 1 };
}

function reduce(state: LiveState, event: LiveEvent): LiveState {
  switch (event.type) {
    case 'start':
      return {
        ...state,
        header: liveHeader(event),
        bitsWA: event.bitsWA,
        bitsGrad: event.bitsGrad,
        cost: event.cost,
        breakdown: event.breakdown,
        totalSteps: event.totalSteps,
        stepsPerEpoch: event.stepsPerEpoch,
        epochs: event.epochs,
        startStep: event.startStep,
        step: event.startStep,
        epoch: event.stepsPerEpoch > 0 ? Math.floor(event.startStep / event.stepsPerEpoch) : 0,
        status: 'running',
        rateSamples: [],
      };
    case 'steps': {
      if (event.steps.length === 0) return state;
      const lossSum = state.lossSum.slice();
      const accSum = state.accSum.slice();
      const count = state.count.slice();
      for (const s of event.steps) {
        const b = bucketOf(s.step, state.totalSteps);
        if (Number.isFinite(s.loss) && Number.isFinite(s.trainAcc)) {
          lossSum[b]! += s.loss;
          accSum[b]! += s.trainAcc;
          count[b]! += 1;
        }
      }
      const last = event.steps[event.steps.length - 1]!;
      let numerics = state.numerics;
      for (const s of event.steps) {
        if (s.lossScale === undefined) continue;
        const sum = (c: number[] | undefined) => (c ?? []).reduce((a, b) => a + b, 0);
        numerics = {
          lossScale: s.lossScale,
          underflow: s.underflow ?? [],
          overflow: s.overflow ?? [],
          underflowTotal: (numerics?.underflowTotal ?? 0) + sum(s.underflow),
          overflowTotal: (numerics?.overflowTotal ?? 0) + sum(s.overflow),
          skipped: (numerics?.skipped ?? 0) + (s.skipped ? 1 : 0),
        };
      }
      let samples = state.rateSamples;
      const prevSample = samples[samples.length - 1];
      if (!prevSample || last.wallMs - prevSample.wallMs >= RATE_MIN_SPACING_MS || samples.length < 2) {
        samples = [...samples, { wallMs: last.wallMs, step: last.step + 1 }].slice(-RATE_WINDOW);
      }
      const first = samples[0]!;
      const lastSample = samples[samples.length - 1]!;
      // before two samples exist, use the session average
      const rate =
        samples.length >= 2 && lastSample.wallMs > first.wallMs
          ? ((lastSample.step - first.step) * 1000) / (lastSample.wallMs - first.wallMs)
          : last.wallMs > 0
            ? ((last.step + 1 - state.startStep) * 1000) / last.wallMs
            : state.stepsPerSecond;
      return {
        ...state,
        lossSum,
        accSum,
        count,
        numerics,
        step: last.step + 1,
        epoch: last.epoch,
        lastLoss: Number.isFinite(last.loss) ? last.loss : state.lastLoss,
        lastTrainAcc: Number.isFinite(last.trainAcc) ? last.trainAcc : state.lastTrainAcc,
        rateSamples: samples,
        stepsPerSecond: rate,
        status: state.status === 'starting' ? 'running' : state.status,
        cost: event.cost ?? state.cost,
        breakdown: event.breakdown ?? state.breakdown,
      };
    }
    case 'eval':
      return { ...state, evals: [...state.evals, event.eval] };
    case 'checkpoint':
      return { ...state, lastCheckpointStep: event.step };
    case 'anchor':
    case 'objective':
      // SVRG's anchors and the tracked objective are printed by the plain progress and kept in
      // anchors.csv / objective.csv; the live view shows the loss
      return state;
    case 'paused':
      if (finished(state.status) || state.status === 'stopping') return state;
      return { ...state, status: event.paused ? 'paused' : 'running' };
    case 'end': {
      const divergence = (event as { divergence?: LiveDivergence }).divergence;
      return {
        ...state,
        status: event.status as LiveStatus,
        summary: event.summary,
        error: event.error,
        ...(divergence ? { divergence } : {}),
        help: false,
        cost: event.cost ?? state.cost,
        breakdown: event.breakdown ?? state.breakdown,
      };
    }
    case 'ui':
      return reduceUi(state, event.action);
  }
}

function reduceUi(state: LiveState, action: LiveUiAction): LiveState {
  switch (action) {
    case 'toggle-help':
      return { ...state, help: !state.help };
    case 'close-help':
      return state.help ? { ...state, help: false } : state;
    case 'cycle-panel':
      return { ...state, panel: LIVE_PANELS[(LIVE_PANELS.indexOf(state.panel) + 1) % LIVE_PANELS.length]! };
    case 'request-pause':
      return state.status === 'running' ? { ...state, status: 'pausing' } : state;
    case 'request-resume':
      return state.status === 'paused' || state.status === 'pausing' ? { ...state, status: 'resuming' } : state;
    case 'request-stop':
      return finished(state.status) ? state : { ...state, status: 'stopping' };
  }
}

/** Mean train loss / accuracy per bucket (null where no step landed yet). */
export function curves(state: LiveState): { loss: (number | null)[]; trainAcc: (number | null)[] } {
  const loss: (number | null)[] = [];
  const trainAcc: (number | null)[] = [];
  for (let i = 0; i < CURVE_BUCKETS; i++) {
    const n = state.count[i]!;
    loss.push(n ? state.lossSum[i]! / n : null);
    trainAcc.push(n ? state.accSum[i]! / n : null);
  }
  return { loss, trainAcc };
}

/**
 * Test accuracy per bucket: the eval points joined by straight lines (null before the first eval),
 * for overlaying on the training curves.
 */
export function testAccBuckets(state: LiveState): (number | null)[] {
  const out = new Array<number | null>(CURVE_BUCKETS).fill(null);
  let prev: { b: number; v: number } | null = null;
  for (const e of state.evals) {
    if (!Number.isFinite(e.testAcc)) continue;
    const b = bucketOf(Math.max(0, e.step - 1), state.totalSteps);
    if (prev && b > prev.b) for (let i = prev.b + 1; i < b; i++) out[i] = prev.v + ((e.testAcc - prev.v) * (i - prev.b)) / (b - prev.b);
    out[b] = e.testAcc;
    prev = { b, v: e.testAcc };
  }
  return out;
}

export function etaSeconds(state: LiveState): number | null {
  if (!state.stepsPerSecond || state.stepsPerSecond <= 0 || state.totalSteps <= 0) return null;
  return Math.max(0, state.totalSteps - state.step) / state.stepsPerSecond;
}

export function isFinished(state: LiveState): boolean {
  return finished(state.status);
}
