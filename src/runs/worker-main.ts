/**
 * Runs one training session inside a worker thread, so a terminal UI in the main thread stays
 * responsive. Messages in: {type:'pause'|'resume'|'stop'}. Messages out: {type:'event', event},
 * then {type:'result', result} or {type:'error', message, exitCode}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BitcycleError } from '../errors.js';
import type { TrainControl } from '../engine/trainer.js';
import { runSession, type SessionOptions } from './session.js';
import type { RunConfig } from './run-format.js';

export interface WorkerInput {
  config: RunConfig | null;
  options: Pick<SessionOptions, 'outDir' | 'resumeDir' | 'name' | 'threads' | 'checkpointIntervalMs' | 'repair' | 'profileDirs'>;
}

export type WorkerCommand = { type: 'pause' } | { type: 'resume' } | { type: 'stop' };

const port = parentPort!;
const input = workerData as WorkerInput;
let wake: (() => void) | null = null;
const control: TrainControl = {
  stopRequested: false,
  paused: false,
  waitWhilePaused: () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    }),
};

port.on('message', (cmd: WorkerCommand) => {
  if (cmd.type === 'pause') control.paused = true;
  if (cmd.type === 'resume' || cmd.type === 'stop') {
    if (cmd.type === 'stop') control.stopRequested = true;
    control.paused = false;
    wake?.();
    wake = null;
  }
});

try {
  const result = await runSession(input.config, { ...input.options, control, onEvent: (event) => port.postMessage({ type: 'event', event }) });
  port.postMessage({ type: 'result', result });
} catch (err) {
  port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err), exitCode: err instanceof BitcycleError ? err.exitCode : 1, stack: err instanceof Error ? err.stack : undefined });
}
port.close();
