/**
 * `train` on a terminal: wiring only. The session runs in a worker thread (src/runs/remote.ts)
 * and computes everything, costs included; its events go to the live dashboard (src/ui/live)
 * in this thread, and the dashboard's keys go back as pause / resume / stop.
 *
 * Preparing a run (data, artifacts, onnxruntime sessions) takes seconds; one line on stderr says
 * so at once. The dashboard starts at the session's start event, so bad input fails with its one
 * line before anything is drawn. While the dashboard runs, SIGINT and SIGTERM stop the run as `q`
 * does (the worker writes a checkpoint and ends `stopped`); a second signal exits with 130. The
 * view leaves the cursor at the start of a fresh line, so `train`'s result lines follow it.
 */
import type { SessionEvent, SessionStartEvent } from '../runs/events.js';
import type { RunConfig } from '../runs/run-format.js';
import { startRemoteSession } from '../runs/remote.js';
import type { SessionResult } from '../runs/session.js';
import type { WorkerInput } from '../runs/worker-main.js';
import { runLiveDashboard } from '../ui/live/run.js';

/**
 * Share of one core the redraws may take. The UI thread and the training worker share the
 * machine's cores (on 2-vCPU machines often one physical core), so every millisecond spent
 * drawing shows in training throughput: measured with `npm run bench` (dashboard-overhead),
 * 3 % cost ~7 % of throughput, 1 % ~3 %. Key presses still redraw at once.
 */
const RENDER_BUDGET = 0.01;

/** The sign of life before the first frame (a whole line: the frame is drawn below it). */
export const PREPARING_LINE = 'bitcycle: preparing the run (loading data, building the training artifacts, starting onnxruntime) …';

/** What the worker's session is given (out dir, resume, name, threads, checkpoint interval, …). */
export type DashboardRunOptions = WorkerInput['options'];

interface SignalTarget {
  on(event: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
  off(event: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
}

/**
 * SIGINT / SIGTERM handlers for the time of a run: the first signal calls `stop` (a clean stop,
 * checkpoint written), a second one calls `exit(130)`. Returns the function that removes them.
 * (While they are installed, Ink's own exit-on-signal hook stands aside: it only acts when it is
 * a signal's only listener.)
 */
export function installStopSignals(stop: () => void, exit: (code: number) => void = (code) => process.exit(code), target: SignalTarget = process): () => void {
  let stopping = false;
  const onSignal = () => {
    if (stopping) {
      exit(130);
      return;
    }
    stopping = true;
    stop();
  };
  target.on('SIGINT', onSignal);
  target.on('SIGTERM', onSignal);
  return () => {
    target.off('SIGINT', onSignal);
    target.off('SIGTERM', onSignal);
  };
}

export async function trainWithDashboard(config: RunConfig | null, options: DashboardRunOptions): Promise<SessionResult> {
  process.stderr.write(PREPARING_LINE + '\n');
  const remote = startRemoteSession(config, options);
  // before the view is up a signal stops the session directly; after, through the view (which shows it)
  let stopFromView: (() => void) | null = null;
  const removeSignals = installStopSignals(() => (stopFromView ? stopFromView() : remote.stop()));
  try {
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
    if (!start) return await remote.result;
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
      onReady: (onAction) => {
        stopFromView = () => onAction('stop');
      },
    });
    const [result] = await Promise.all([remote.result, finalState]);
    return result;
  } finally {
    removeSignals();
  }
}
