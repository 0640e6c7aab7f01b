/**
 * A demo feed for the live view: replays a synthetic run (src/runs/fixtures.ts) as engine events
 * on a timer, honouring pause / resume / stop like the engine does. Run it with
 *   npx tsx src/ui/live/demo.ts [schedule] [steps-per-second]
 */
import { fileURLToPath } from 'node:url';
import type { EngineEvent } from '../../engine/events.js';
import { createCostModel, loadProfile } from '../../hw/index.js';
import { makeSyntheticRun, syntheticEvents } from '../../runs/fixtures.js';
import { makeSchedule, scheduleBits } from '../../schedule/schedule.js';
import { createLiveBreakdown } from './breakdown.js';
import type { LiveControls, LiveDashboardOptions } from './run.js';
import type { LiveEvent } from './state.js';

export interface DemoFeedOptions {
  schedule?: string;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Simulated training speed. */
  stepsPerSecond?: number;
  /** Steps per `steps` event. */
  chunkSteps?: number;
}

export interface DemoFeed extends Pick<LiveDashboardOptions, 'header' | 'schedule' | 'events' | 'controls'> {
  /** All events of the run, in order (for tests that feed the reducer directly). */
  all: LiveEvent[];
}

export function createDemoFeed(options: DemoFeedOptions = {}): DemoFeed {
  const spec = options.schedule ?? 'cpt:3-8';
  const run = makeSyntheticRun({ id: `demo-mlp-digits-${spec.replace(/[^A-Za-z0-9]+/g, '')}`, schedule: spec, epochs: options.epochs ?? 30, stepsPerEpoch: options.stepsPerEpoch ?? 22 });
  const total = run.run.progress.totalSteps;
  const schedule = makeSchedule(spec);
  const baseline = makeSchedule(run.run.config.baseline);
  let breakdown: ReturnType<typeof createLiveBreakdown> | null = null;
  try {
    breakdown = createLiveBreakdown(createCostModel(loadProfile(run.run.config.profile), run.run.layers, run.run.config.batchSize), (t) => baseline.bitsAt(t, total));
  } catch {
    breakdown = null;
  }
  const chunk = options.chunkSteps ?? 11;
  const all: LiveEvent[] = syntheticEvents(run, chunk).map((e: EngineEvent) => {
    if (e.type !== 'steps' || !breakdown) return e;
    breakdown.add(e.steps);
    return { ...e, breakdown: breakdown.snapshot() };
  });
  const stepsPerSecond = options.stepsPerSecond ?? 200;
  let paused = false;
  let stopping = false;
  let listener: ((e: LiveEvent) => void) | null = null;
  let timer: NodeJS.Timeout | null = null;
  let index = 0;
  const emit = (e: LiveEvent) => listener?.(e);
  const tick = () => {
    timer = null;
    if (paused) return;
    const e = all[index++];
    if (!e) return;
    if (stopping && e.type !== 'start') {
      emit({ type: 'checkpoint', step: lastStep });
      emit({ type: 'end', status: 'stopped', summary: null });
      return;
    }
    if (e.type === 'steps') {
      // real elapsed time, so steps/s and ETA on screen match the replay speed
      const now = performance.now() - startedMs;
      emit({ ...e, steps: e.steps.map((s) => ({ ...s, wallMs: now })) });
    } else emit(e);
    if (e.type === 'steps') lastStep = e.steps[e.steps.length - 1]!.step + 1;
    if (e.type !== 'end') timer = setTimeout(tick, e.type === 'steps' ? (1000 * e.steps.length) / stepsPerSecond : 0);
  };
  let lastStep = 0;
  let startedMs = performance.now();
  const controls: LiveControls = {
    pause() {
      paused = true;
      if (timer) clearTimeout(timer);
      timer = null;
      setTimeout(() => emit({ type: 'paused', paused: true }), 20);
    },
    resume() {
      paused = false;
      emit({ type: 'paused', paused: false });
      if (!timer) timer = setTimeout(tick, 0);
    },
    stop() {
      stopping = true;
      if (paused) {
        paused = false;
        if (!timer) timer = setTimeout(tick, 0);
      }
    },
  };
  return {
    header: { runId: run.run.id, model: run.run.config.model, dataset: run.run.config.dataset, schedule: schedule.name, gradBits: run.run.config.gradBits, profile: run.run.config.profile, baseline: run.run.config.baseline, batchSize: run.run.config.batchSize },
    schedule: { bitsWA: scheduleBits(schedule, total), bitsGrad: new Uint8Array(total).fill(8) },
    events(l) {
      listener = l;
      startedMs = performance.now();
      timer = setTimeout(tick, 0);
      return () => {
        listener = null;
        if (timer) clearTimeout(timer);
      };
    },
    controls,
    all,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { runLiveDashboard } = await import('./run.js');
  const feed = createDemoFeed({ schedule: process.argv[2], stepsPerSecond: process.argv[3] ? Number(process.argv[3]) : undefined });
  const final = await runLiveDashboard(feed);
  process.stdout.write(`demo ended: ${final.status} at step ${final.step}\n`);
}
