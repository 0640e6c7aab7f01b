/**
 * Host side of a training session in a worker thread: session events arrive as messages; pause, resume
 * and stop are sent back. Errors of the session come back as BitcycleErrors with their message.
 */
import { Worker } from 'node:worker_threads';
import { BitcycleError } from '../errors.js';
import type { SessionEvent, SessionListener } from './events.js';
import type { RunConfig } from './run-format.js';
import type { SessionResult } from './session.js';
import type { WorkerCommand, WorkerInput } from './worker-main.js';

export interface RemoteSession {
  /** Subscribe to session events (returns an unsubscribe function). */
  subscribe(listener: SessionListener): () => void;
  pause(): void;
  resume(): void;
  /** Stop cleanly after the current chunk (checkpoint written, run marked stopped). */
  stop(): void;
  result: Promise<SessionResult>;
}

class RemoteError extends BitcycleError {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

export function startRemoteSession(config: RunConfig | null, options: WorkerInput['options'] = {}): RemoteSession {
  const worker = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: { config, options } satisfies WorkerInput });
  const listeners = new Set<SessionListener>();
  const send = (cmd: WorkerCommand) => worker.postMessage(cmd);
  const result = new Promise<SessionResult>((resolve, reject) => {
    let settled = false;
    worker.on('message', (msg: { type: 'event'; event: SessionEvent } | { type: 'result'; result: SessionResult } | { type: 'error'; message: string; exitCode: number; stack?: string }) => {
      if (msg.type === 'event') for (const l of listeners) l(msg.event);
      else if (msg.type === 'result') {
        settled = true;
        resolve(msg.result);
      } else {
        settled = true;
        reject(msg.exitCode === 2 ? new RemoteError(msg.message, 2) : new Error(msg.stack ?? msg.message));
      }
    });
    worker.on('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(`training worker exited with code ${code} before finishing`));
    });
  });
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    pause: () => send({ type: 'pause' }),
    resume: () => send({ type: 'resume' }),
    stop: () => send({ type: 'stop' }),
    result,
  };
}
