/**
 * Dashboard overhead: what the live view costs per second of training on the UI thread.
 *   npx tsx bench/ui.ts [steps-per-second] [steps-per-event]
 * Measures the reducer (every event) and a full frame render, and reports the share of one core
 * they use at the given training speed with the adaptive redraw rate of runLiveDashboard
 * (≤ 10 redraws/s and ≤ 3 % of the UI thread). Target: < 5 %. The engine trains in a
 * worker_thread, so this is time on the main thread, not taken from the training thread.
 */
import { renderToString } from 'ink';
import { createElement } from 'react';
import { LiveScreen } from '../src/ui/live/LiveApp.js';
import { createDemoFeed } from '../test/fixtures/demo-feed.js';
import { adaptiveInterval } from '../src/ui/live/run.js';
import { initialLiveState, liveReducer, type LiveState } from '../src/ui/live/state.js';

const stepsPerSecond = Number(process.argv[2] ?? 4000);
const stepsPerEvent = Number(process.argv[3] ?? 11);
const feed = createDemoFeed({ epochs: 200, chunkSteps: stepsPerEvent });
const events = feed.all;

function feedAll(): LiveState {
  let s = initialLiveState();
  for (const e of events) s = liveReducer(s, e);
  return s;
}

feedAll(); // warm up
const t0 = performance.now();
const rounds = 5;
let final!: LiveState;
for (let i = 0; i < rounds; i++) final = feedAll();
const reduceMs = (performance.now() - t0) / rounds;
const steps = final.step;
const reducerMsPerStep = reduceMs / steps;

const frames = 30;
renderToString(createElement(LiveScreen, { state: final, width: 120 }), { columns: 120 });
const t1 = performance.now();
for (let i = 0; i < frames; i++) renderToString(createElement(LiveScreen, { state: final, width: 120 }), { columns: 120 });
const frameMs = (performance.now() - t1) / frames;

const reducerMsPerS = reducerMsPerStep * stepsPerSecond;
const fps = 1000 / adaptiveInterval(frameMs, 100, 0.03);
const renderMsPerS = frameMs * fps;
const share = (reducerMsPerS + renderMsPerS) / 10; // ms per 1000 ms → %
process.stdout.write(
  [
    `events: ${events.length} (${steps} steps, ${stepsPerEvent} per event)`,
    `reducer: ${(reducerMsPerStep * 1000).toFixed(2)} µs/step → ${reducerMsPerS.toFixed(2)} ms per second at ${stepsPerSecond} steps/s`,
    `frame:   ${frameMs.toFixed(2)} ms (renderToString, includes Ink setup) → ${renderMsPerS.toFixed(1)} ms per second at ${fps.toFixed(1)} redraws/s (adaptive: ≤ 10/s, ≤ 3 % of the UI thread)`,
    `dashboard cost: ${share.toFixed(2)} % of one core (target < 5 %)`,
  ].join('\n') + '\n',
);
