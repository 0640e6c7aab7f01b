/**
 * A worker thread of the local sweep pool: trains the runs it is sent, one at a time, keeping data
 * sets and artifacts between them (./execute.ts). Messages in: `run`, `stop` (the current run
 * stops at its next chunk, checkpointed), `exit`. Messages out: `progress` (steps done) and
 * `outcome`.
 */
import { parentPort } from 'node:worker_threads';
import type { TrainControl } from '../engine/trainer.js';
import { executeRun, WorkerCache } from './execute.js';
import type { PoolCommand, PoolMessage } from './pool.js';

const port = parentPort!;
const cache = new WorkerCache();
let control: TrainControl = { stopRequested: false, paused: false };
let stopped = false;
const send = (m: PoolMessage) => port.postMessage(m);

port.on('message', async (cmd: PoolCommand) => {
  if (cmd.type === 'exit') {
    port.close();
    return;
  }
  if (cmd.type === 'stop') {
    stopped = true;
    control.stopRequested = true;
    return;
  }
  control = { stopRequested: stopped, paused: false };
  let last = 0;
  const outcome = await executeRun(cmd.name, cmd.config, {
    runsDir: cmd.runsDir,
    cache,
    control,
    profileDirs: cmd.profileDirs,
    onStep: (step, total) => {
      const now = Date.now();
      if (now - last < 200 && step < total) return;
      last = now;
      send({ type: 'progress', name: cmd.name, step, total });
    },
  });
  send({ type: 'outcome', outcome });
});
