/**
 * `train` on a terminal: the session runs in a worker thread; the live dashboard (src/ui/live)
 * renders in this thread from its events. The dashboard starts at the engine's `start` event,
 * when the run's length (and so the whole precision schedule) is known.
 */
import type { EngineEvent } from '../engine/events.js';
import { createCostModel } from '../hw/cost.js';
import { loadProfile } from '../hw/load.js';
import { startRemoteSession } from '../runs/remote.js';
import { gradSchedule, type SessionResult } from '../runs/session.js';
import { RunStore, type RunConfig } from '../runs/store.js';
import { makeSchedule, scheduleBits } from '../schedule/schedule.js';
import { createLiveBreakdown } from '../ui/live/breakdown.js';
import { runLiveDashboard } from '../ui/live/run.js';
import type { LiveEvent } from '../ui/live/state.js';

const BREAKDOWN_INTERVAL_MS = 500;
/**
 * Share of one core the redraws may take. The UI thread and the training worker share the
 * machine's cores (on 2-vCPU machines often one physical core), so every millisecond spent
 * drawing shows in training throughput: measured with `npm run bench` (dashboard-overhead),
 * 3 % cost ~7 % of throughput, 1 % ~3 %. Key presses still redraw at once.
 */
const RENDER_BUDGET = 0.01;

export interface DashboardRunOptions {
  outDir: string;
  resumeDir?: string;
  name?: string;
  threads: number;
  checkpointIntervalMs: number;
}

export async function trainWithDashboard(configOrNull: RunConfig | null, options: DashboardRunOptions): Promise<SessionResult> {
  const config = configOrNull ?? RunStore.open(options.resumeDir!).run.config;
  // Everything this thread needs is prepared before training starts: the two threads share the
  // machine's cores, so work done here during training (loading mathjs takes most of a second)
  // would be taken from the engine.
  const profile = config.profile === 'none' ? null : loadProfile(config.profile);
  const remote = startRemoteSession(configOrNull, options);
  const buffered: EngineEvent[] = [];
  let forward: ((e: LiveEvent) => void) | null = null;
  let started: (start: Extract<EngineEvent, { type: 'start' }>) => void;
  const startEvent = new Promise<Extract<EngineEvent, { type: 'start' }>>((r) => (started = r));
  remote.subscribe((e) => {
    if (e.type === 'start') started(e);
    if (forward) forward(e);
    else buffered.push(e);
  });
  // A session that fails before it starts (bad data, bad profile) ends the promise race here.
  const start = await Promise.race([startEvent, remote.result.then(() => null)]);
  if (!start) return remote.result;

  const schedule = makeSchedule(config.schedule);
  const baseline = makeSchedule(config.baseline);
  const total = start.totalSteps;
  let breakdown: ReturnType<typeof createLiveBreakdown> | null = null;
  if (profile) breakdown = createLiveBreakdown(createCostModel(profile, start.layers, config.batchSize), (t) => baseline.bitsAt(t, total));
  let lastBreakdownAt = 0;
  const enrich = (e: EngineEvent): LiveEvent => {
    if (e.type !== 'steps' || !breakdown) return e;
    breakdown.add(e.steps);
    const now = Date.now();
    if (now - lastBreakdownAt < BREAKDOWN_INTERVAL_MS) return e;
    lastBreakdownAt = now;
    return { ...e, breakdown: breakdown.snapshot() };
  };

  const finalState = runLiveDashboard({
    header: { runId: start.runId, model: config.model, dataset: config.dataset, schedule: config.schedule, gradBits: config.gradBits, profile: config.profile, baseline: config.baseline, batchSize: config.batchSize },
    schedule: { bitsWA: scheduleBits(schedule, total), bitsGrad: scheduleBits(gradSchedule(config.gradBits), total) },
    events: (listener) => {
      forward = (e) => {
        if (e.type === 'end' && breakdown) listener({ type: 'breakdown', breakdown: breakdown.snapshot() });
        listener(enrich(e as EngineEvent));
      };
      for (const e of buffered.splice(0)) forward(e);
      return () => {
        forward = null;
      };
    },
    controls: { pause: remote.pause, resume: remote.resume, stop: remote.stop },
    renderBudget: RENDER_BUDGET,
  });
  const [result] = await Promise.all([remote.result, finalState]);
  return result;
}
