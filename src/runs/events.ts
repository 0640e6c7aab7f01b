/**
 * What a training session tells its listener (plain log, dashboard, worker host): the engine's
 * events plus what the session knows and the engine does not — the run's config and schedule, the
 * layer shapes, and every cost, computed once here from the run's CostTally. Consumers show these
 * numbers; they never recompute them.
 */
import type { EngineEvent, StepRecord } from '../engine/events.js';
import type { CostBreakdown, CostTally, RunCost, StepCost } from '../hw/tally.js';
import type { LayerShape } from '../models/shapes.js';
import type { RunConfig } from './run-format.js';

type EngineStart = Extract<EngineEvent, { type: 'start' }>;
type EngineEnd = Extract<EngineEvent, { type: 'end' }>;

export interface SessionStartEvent extends EngineStart {
  config: RunConfig;
  /** e.g. `mlp-64-128-10`. */
  modelId: string;
  layers: LayerShape[];
  /** Weight/activation bits of every step of the whole run. */
  bitsWA: Uint8Array;
  /** Error bits of every step. */
  bitsGrad: Uint8Array;
  /** Cost of the steps already trained (restored on resume, else zero); null without a profile. */
  cost: RunCost | null;
  breakdown: CostBreakdown | null;
}

export interface SessionStepsEvent {
  type: 'steps';
  steps: StepRecord[];
  /** Cost of each step (parallel to `steps`); null without a profile. */
  costs: StepCost[] | null;
  /** The run's cost so far, these steps included. */
  cost: RunCost | null;
  /** Per-layer / per-phase parts so far; sent at most every `breakdownIntervalMs`. */
  breakdown?: CostBreakdown;
}

export interface SessionEndEvent extends EngineEnd {
  cost: RunCost | null;
  breakdown: CostBreakdown | null;
}

export type SessionEvent = SessionStartEvent | SessionStepsEvent | SessionEndEvent | Exclude<EngineEvent, { type: 'start' | 'steps' | 'end' }>;
export type SessionListener = (event: SessionEvent) => void;

export interface SessionEventContext {
  config: RunConfig;
  modelId: string;
  layers: LayerShape[];
  bitsWA: Uint8Array;
  bitsGrad: Uint8Array;
  /** The run's cost tally (already holding the restored steps on resume); null without a profile. */
  tally: CostTally | null;
}

export const BREAKDOWN_INTERVAL_MS = 500;

/**
 * Turns engine events into session events, adding each step's cost to `tally` exactly once.
 * The breakdown is sent with the start, at most every `breakdownIntervalMs` with steps, and at
 * the end.
 */
export function sessionEvents(ctx: SessionEventContext, options: { breakdownIntervalMs?: number; now?: () => number } = {}): (event: EngineEvent) => SessionEvent {
  const interval = options.breakdownIntervalMs ?? BREAKDOWN_INTERVAL_MS;
  const now = options.now ?? (() => performance.now());
  const { tally } = ctx;
  let lastBreakdownAt = Number.NEGATIVE_INFINITY;
  return (event) => {
    switch (event.type) {
      case 'start':
        return {
          ...event,
          config: ctx.config,
          modelId: ctx.modelId,
          layers: ctx.layers,
          bitsWA: ctx.bitsWA,
          bitsGrad: ctx.bitsGrad,
          cost: tally ? tally.totals() : null,
          breakdown: tally && tally.steps > 0 ? tally.breakdown() : null,
        };
      case 'steps': {
        if (!tally) return { type: 'steps', steps: event.steps, costs: null, cost: null };
        const costs = tally.add(event.steps);
        const out: SessionStepsEvent = { type: 'steps', steps: event.steps, costs, cost: tally.totals() };
        const t = now();
        if (t - lastBreakdownAt >= interval) {
          lastBreakdownAt = t;
          out.breakdown = tally.breakdown();
        }
        return out;
      }
      case 'end':
        return { ...event, cost: tally ? tally.totals() : null, breakdown: tally && tally.steps > 0 ? tally.breakdown() : null };
      default:
        return event;
    }
  };
}
