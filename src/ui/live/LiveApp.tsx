/**
 * The live training view. `LiveScreen` renders a LiveState (props only); `LiveApp` connects it
 * to the store and is the screen's one keypress hub.
 */
import { Box, Text, useInput, useStdout } from 'ink';
import { useSyncExternalStore } from 'react';
import { type PartsCost, PHASES } from '../../hw/cost.js';
import { savingPct } from '../../hw/savings.js';
import { HelpOverlay, KeyHints, ScheduleChart, TrainingCurves, row } from '../components.js';
import { progressBar } from '../charts.js';
import { fmtAcc, fmtDuration, fmtNum, fmtPct, fmtSI } from '../../format.js';
import { type KeyMap, keyName, lookupKey } from '../keys.js';
import type { Store } from '../store.js';
import { CURVE_BUCKETS, curves, etaSeconds, isFinished, type LiveEvent, type LiveState, testAccBuckets } from './state.js';

export type LiveAction = 'pause-resume' | 'stop' | 'breakdown' | 'help' | 'close-help';

export const LIVE_KEYS: KeyMap<LiveAction> = [
  { keys: ['p'], help: 'pause / resume training', hint: 'pause/resume', action: 'pause-resume' },
  { keys: ['q', 'ctrl-c'], help: 'stop cleanly (checkpoint written, run resumable)', hint: 'stop', action: 'stop' },
  { keys: ['b'], help: 'cost breakdown: totals → per layer → per phase', hint: 'breakdown', action: 'breakdown' },
  { keys: ['?'], help: 'show / hide this help', hint: 'help', action: 'help' },
  { keys: ['escape'], help: 'close help', action: 'close-help' },
];

const STATUS_COLOR: Record<string, string> = {
  starting: 'gray',
  running: 'green',
  pausing: 'yellow',
  paused: 'yellow',
  resuming: 'yellow',
  stopping: 'yellow',
  completed: 'green',
  stopped: 'yellow',
  failed: 'red',
};

const PHASE_LABEL: Record<string, string> = { forward: 'forward', inputGrad: 'input grad', weightGrad: 'weight grad' };

export function LiveScreen({ state, width = 100 }: { state: LiveState; width?: number }) {
  const w = Math.max(60, Math.min(width, 140));
  if (state.help) {
    return (
      <Box flexDirection="column" width={w}>
        <Header state={state} />
        <HelpOverlay title="Live training view" keymap={LIVE_KEYS} />
      </Box>
    );
  }
  const { loss, trainAcc } = curves(state);
  const testAcc = testAccBuckets(state);
  const maxLoss = Math.max(0.5, ...loss.filter((v): v is number => v !== null));
  const lastEval = state.evals[state.evals.length - 1];
  return (
    <Box flexDirection="column" width={w}>
      <Header state={state} />
      <Text wrap="truncate-end">
        <Text color="cyan">{progressBar(state.totalSteps ? state.step / state.totalSteps : 0, Math.min(40, w - 60))}</Text>
        {` ${state.step}/${state.totalSteps} (${fmtPct(state.totalSteps ? (100 * state.step) / state.totalSteps : 0)})`}
        {` · epoch ${Math.min(state.epoch + 1, Math.max(1, state.epochs))}/${state.epochs}`}
        {` · ${state.stepsPerSecond ? fmtNum(state.stepsPerSecond, 3) : '—'} steps/s`}
        {` · ETA ${isFinished(state) ? '0:00' : fmtDuration(etaSeconds(state))}`}
      </Text>
      <Text wrap="truncate-end" dimColor>
        {`loss ${fmtNum(state.lastLoss)} · train acc ${fmtAcc(state.lastTrainAcc)} · test acc ${fmtAcc(lastEval?.testAcc)}`}
        {state.lastCheckpointStep !== null ? ` · checkpoint @ ${state.lastCheckpointStep}` : ''}
      </Text>
      <Box marginTop={1}>
        <ScheduleChart bitsWA={state.bitsWA} bitsGrad={state.bitsGrad} width={w} current={state.step} />
      </Box>
      <Box marginTop={1}>
        <TrainingCurves loss={loss} trainAcc={trainAcc} testAcc={testAcc} maxLoss={maxLoss} width={w} height={6} length={CURVE_BUCKETS} />
      </Box>
      <Box marginTop={1} flexDirection="column">
        <CostPanel state={state} width={w} />
      </Box>
      {isFinished(state) ? <EndLine state={state} /> : null}
      <KeyHints keymap={LIVE_KEYS} />
    </Box>
  );
}

function Header({ state }: { state: LiveState }) {
  const h = state.header;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Text bold>bitcycle train </Text>
        <Text>{h?.runId ?? ''}</Text>
        <Text color={STATUS_COLOR[state.status]}>{`  [${state.status}]`}</Text>
      </Text>
      <Text wrap="truncate-end" dimColor>
        {h ? `model ${h.model} · data ${h.dataset} · schedule ${h.schedule} · grad ${h.gradBits} · profile ${h.profile} · baseline ${h.baseline} · batch ${h.batchSize}` : 'preparing the run (data, artifacts, sessions)…'}
      </Text>
    </Box>
  );
}

function EndLine({ state }: { state: LiveState }) {
  const s = state.summary;
  const color = state.status === 'failed' ? 'red' : state.status === 'stopped' ? 'yellow' : 'green';
  const text =
    state.status === 'failed'
      ? `Run failed: ${state.error ?? 'unknown error'}`
      : state.status === 'stopped'
        ? `Run stopped at step ${state.step} — resumable with --resume`
        : `Run completed${s ? ` — test acc ${fmtAcc(s.testAccuracy)} (best ${fmtAcc(s.bestTestAccuracy)}), ${fmtNum(s.stepsPerSecond)} steps/s` : ''}`;
  return <Text color={color}>{text}</Text>;
}

const COLS = [14, 12, 8, 12, 9];
const ALIGN = ['left', 'right', 'right', 'right', 'right'] as const;

function CostPanel({ state, width }: { state: LiveState; width: number }) {
  const c = state.cost;
  const h = state.header;
  if (!c) return <Text dimColor>{h?.profile === 'none' ? 'Cost: no hardware profile (--profile none)' : 'Cost: waiting for the run to start'}</Text>;
  const title = `Cost so far on ${c.profile} (vs ${c.baseline.schedule})`;
  const panelTitle = state.panel === 'totals' ? 'totals' : state.panel === 'layers' ? 'per layer' : 'per phase';
  const lines: string[] = [];
  if (state.panel === 'totals') {
    lines.push(row(['', 'so far', '', 'baseline', 'savings'], COLS, ALIGN));
    const line = (label: string, v: number, b: number, unit: string, pct: number) => row([label, fmtSI(v, unit), '', fmtSI(b, unit), c.steps > 0 ? fmtPct(pct) : '—'], COLS, ALIGN);
    lines.push(line('energy', c.energyJ, c.baseline.energyJ, 'J', c.savings.energyPct));
    lines.push(line('latency', c.latencyS, c.baseline.latencyS, 's', c.savings.latencyPct));
    lines.push(line('BitOPs', c.bitops, c.baseline.bitops, '', c.savings.bitopsPct));
  } else if (!state.breakdown) {
    lines.push('breakdown not available yet (sent with the next steps)');
  } else {
    const run = state.breakdown.run;
    const base = state.breakdown.baseline;
    const groups: { label: string; run: PartsCost; base?: PartsCost }[] =
      state.panel === 'layers'
        ? run.byLayer.map((l, i) => ({ label: l.layer, run: l, base: base?.byLayer[i] }))
        : PHASES.map((p) => ({ label: PHASE_LABEL[p]!, run: run.byPhase[p], base: base?.byPhase[p] }));
    const total = groups.reduce((a, g) => a + g.run.energyJ, 0);
    lines.push(row([state.panel === 'layers' ? 'layer' : 'phase', 'energy', 'share', 'baseline', 'savings'], COLS, ALIGN));
    for (const g of groups) {
      lines.push(row([g.label, fmtSI(g.run.energyJ, 'J'), fmtPct(total > 0 ? (100 * g.run.energyJ) / total : null, 0), fmtSI(g.base?.energyJ, 'J'), fmtPct(g.base ? savingPct(g.run.energyJ, g.base.energyJ) : null)], COLS, ALIGN));
    }
  }
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text bold>{title}</Text>
        <Text dimColor>{`  · ${panelTitle} (b: next view) · ${c.steps} steps tallied`}</Text>
      </Text>
      {lines.map((l, i) => (
        <Text key={i} color={i === 0 ? 'gray' : undefined}>
          {l}
        </Text>
      ))}
    </Box>
  );
}

export interface LiveAppProps {
  store: Store<LiveState, LiveEvent>;
  onAction: (action: LiveAction) => void;
  width?: number;
}

/** Store-connected live view with the key hub. */
export function LiveApp({ store, onAction, width }: LiveAppProps) {
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot);
  const { stdout } = useStdout();
  useInput((input, key) => {
    const action = lookupKey(LIVE_KEYS, keyName(input, key));
    if (action) onAction(action);
  });
  return <LiveScreen state={state} width={width ?? (stdout.columns || 100)} />;
}
