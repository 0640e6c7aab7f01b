/**
 * `train` on a terminal: wiring only. The session runs in a worker thread (src/runs/remote.ts)
 * and computes everything, costs included; its events go to the live dashboard (src/ui/live)
 * in this thread, and the dashboard's keys go back as pause / resume / stop. The dashboard starts
 * at the session's start event, so bad input fails with its one line before anything is drawn.
 */
import type { SessionEvent, SessionStartEvent } from '../runs/events.js';
import type { RunConfig } from '../runs/run-format.js';
import { startRemoteSession } from '../runs/remote.js';
import type { SessionResult } from '../runs/session.js';
import { runLiveDashboard } from '../ui/live/run.js';

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

export async function trainWithDashboard(config: RunConfig | null, options: DashboardRunOptions): Promise<SessionResult> {
  const remote = startRemoteSession(config, options);
  const buffered: SessionEvent[] = [];
  let forward: ((e: SessionEvent) => void) | null = null;
  let started!: (start: SessionStartEvent) => void;
  const startEvent = new Promise<SessionStartEvent>((r) => (started = r));
  remote.subscribe((e) => {
    if (e.type === 'start') started(e);
    if (forward) forward(e);
    else buffered.push(e);
  });
  // A session that fails before it starts (bad data, bad profile) ends the race here.
  const start = await Promise.race([startEvent, remote.result.then(() => null)]);
  if (!start) return remote.result;
  const finalState = runLiveDashboard({
    events: (listener) => {
      forward = listener;
      for (const e of buffered.splice(0)) listener(e);
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
