/**
 * The live training view. `LiveScreen` renders a LiveState (props only); `LiveApp` connects it
 * to the store and is the screen's one keypress hub.
 */
import { Box, Text, useInput } from 'ink';
import { type ReactNode, useMemo, useSyncExternalStore } from 'react';
import { arrayBitsSource } from '../../analysis/bits.js';
import { type PartsCost, PHASES } from '../../hw/cost.js';
import { savingPct } from '../../hw/savings.js';
import { HelpOverlay, KeyHints, ScheduleChart, scheduleChartLines, TrainingCurves, row } from '../components.js';
import { progressBar } from '../charts.js';
import { fmtAcc, fmtDuration, fmtNum, fmtPct, fmtSI } from '../../format.js';
import { type KeyMap, keyName, lookupKey } from '../keys.js';
import type { Store } from '../store.js';
import { useTerminalSize } from '../terminal.js';
import { sanitize, sanitizeShort } from '../../util/text.js';
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
  diverged: 'red',
  failed: 'red',
};

const PHASE_LABEL: Record<string, string> = { forward: 'forward', inputGrad: 'input grad', weightGrad: 'weight grad' };

/** How the live view fills the terminal's rows (see liveLayout). */
export interface LiveLayout {
  /** W/A rows of the schedule chart (0: chart hidden). */
  scheduleRows: number;
  /** Rows of the loss and accuracy charts (0: hidden). */
  curveRows: number;
  /** Whether the cost panel is shown. */
  cost: boolean;
  /** Most rows of the per-layer table; further layers are summed up in one line. */
  layerRows: number;
  /** Blank lines: before each of the first `gaps` sections (schedule, curves, cost). */
  gaps: number;
  /** The config line under the title. */
  configLine: boolean;
  /** Lines of the whole frame. */
  lines: number;
}

const FULL_LAYOUT: Omit<LiveLayout, 'lines'> = { scheduleRows: 3, curveRows: 6, cost: true, layerRows: 12, gaps: 3, configLine: true };

/** Lines of the cost panel (title and body). */
function costPanelLines(state: LiveState, layerRows: number): number {
  if (!state.cost) return 1;
  if (state.panel === 'totals' || state.panel === 'phases') return 5;
  if (!state.breakdown) return 2;
  const layers = state.breakdown.run.byLayer.length;
  return 2 + (layers > layerRows ? layerRows : layers);
}

function layoutLines(state: LiveState, l: Omit<LiveLayout, 'lines'>): number {
  const known = state.header !== null; // charts appear with the start event
  const sections = [known && l.scheduleRows > 0 ? scheduleChartLines(l.scheduleRows, true) : 0, known && l.curveRows > 0 ? l.curveRows + 1 : 0, l.cost ? costPanelLines(state, l.layerRows) : 0].filter((n) => n > 0);
  const base = 1 + (l.configLine ? 1 : 0) + 2 + (isFinished(state) ? 1 : 0) + 1; // title, config, progress + loss lines, end line, key hints
  return base + sections.reduce((a, n) => a + n, 0) + Math.min(l.gaps, sections.length);
}

/**
 * The live view's layout for a terminal of `rows` rows: the frame takes at most `rows − 1` lines,
 * so the title line stays on screen and Ink ends the frame with a newline (a frame as tall as the
 * terminal scrolls its first line away, and leaves the cursor at the end of the key hints).
 * Detail goes first: chart heights, blank lines, then whole sections, the title line never.
 */
export function liveLayout(state: LiveState, rows: number = Number.POSITIVE_INFINITY): LiveLayout {
  const budget = rows - 1;
  let l = { ...FULL_LAYOUT };
  const shrink: ((l: Omit<LiveLayout, 'lines'>) => Omit<LiveLayout, 'lines'> | null)[] = [
    (l) => (l.curveRows > 4 ? { ...l, curveRows: l.curveRows - 1 } : null),
    (l) => (l.gaps > 0 ? { ...l, gaps: l.gaps - 1 } : null),
    (l) => (l.layerRows > 4 ? { ...l, layerRows: 4 } : null),
    (l) => (l.curveRows > 3 ? { ...l, curveRows: 3 } : null),
    (l) => (l.scheduleRows > 1 ? { ...l, scheduleRows: l.scheduleRows - 1 } : null),
    (l) => (l.curveRows > 0 ? { ...l, curveRows: 0 } : null),
    (l) => (l.layerRows > 2 ? { ...l, layerRows: 2 } : null),
    (l) => (l.cost ? { ...l, cost: false } : null),
    (l) => (l.scheduleRows > 0 ? { ...l, scheduleRows: 0 } : null),
    (l) => (l.configLine ? { ...l, configLine: false } : null),
  ];
  for (const step of shrink) {
    for (let next = step(l); next && layoutLines(state, l) > budget; next = step(l)) l = next;
    if (layoutLines(state, l) <= budget) break;
  }
  return { ...l, lines: layoutLines(state, l) };
}

/**
 * Loss scaling and error underflow/overflow, when the run has anything to say about them (a loss
 * scale other than 1, or a count): ` · loss scale 65536 · underflow 12 (last step: 3/0/9 by layer) · overflow 0 · 2 steps skipped`.
 */
export function numericsText(state: LiveState): string {
  const n = state.numerics;
  if (!n || (n.lossScale === 1 && n.underflowTotal === 0 && n.overflowTotal === 0 && n.skipped === 0)) return '';
  const byLayer = n.underflow.length > 1 ? ` (last step ${[...n.underflow].reverse().join('/')} by layer)` : '';
  return ` · loss scale ${fmtNum(n.lossScale)} · underflow ${fmtNum(n.underflowTotal)}${byLayer} · overflow ${fmtNum(n.overflowTotal)}${n.skipped ? ` · ${n.skipped} step${n.skipped === 1 ? '' : 's'} skipped` : ''}`;
}

/** The progress line's text; totals not known yet (before the start event) show as "…". */
export function progressText(state: LiveState): string {
  const known = state.totalSteps > 0;
  const steps = known ? `${state.step}/${state.totalSteps} (${fmtPct((100 * state.step) / state.totalSteps)})` : `${state.step}/…`;
  const epoch = state.epochs > 0 ? `epoch ${Math.min(state.epoch + 1, state.epochs)}/${state.epochs}` : 'epoch …';
  const rate = `${state.stepsPerSecond ? fmtNum(state.stepsPerSecond, 3) : '—'} steps/s`;
  const eta = `ETA ${isFinished(state) ? '0:00' : fmtDuration(etaSeconds(state))}`;
  return `${steps} · ${epoch} · ${rate} · ${eta}`;
}

export function LiveScreen({ state, width = 100, height }: { state: LiveState; width?: number; /** Terminal rows (undefined: no limit). */ height?: number }) {
  const w = Math.max(60, Math.min(width, 140));
  const bits = useMemo(() => arrayBitsSource(state.bitsWA, state.bitsGrad), [state.bitsWA, state.bitsGrad]);
  if (state.help) {
    return (
      <Box flexDirection="column" width={w}>
        <Header state={state} configLine />
        <HelpOverlay title="Live training view" keymap={LIVE_KEYS} />
      </Box>
    );
  }
  const layout = liveLayout(state, height);
  const { loss, trainAcc } = curves(state);
  const testAcc = testAccBuckets(state);
  const maxLoss = Math.max(0.5, ...loss.filter((v): v is number => v !== null));
  const lastEval = state.evals[state.evals.length - 1];
  const sections: { key: string; node: ReactNode }[] = [];
  const known = state.header !== null; // before the start event there is nothing to chart
  if (known && layout.scheduleRows > 0) sections.push({ key: 'schedule', node: <ScheduleChart source={bits} width={w} height={layout.scheduleRows} current={state.step} /> });
  if (known && layout.curveRows > 0) {
    sections.push({ key: 'curves', node: <TrainingCurves loss={loss} trainAcc={trainAcc} testAcc={testAcc} maxLoss={maxLoss} width={w} height={layout.curveRows} length={CURVE_BUCKETS} /> });
  }
  if (layout.cost) sections.push({ key: 'cost', node: <CostPanel state={state} width={w} layerRows={layout.layerRows} /> });
  return (
    <Box flexDirection="column" width={w}>
      <Header state={state} configLine={layout.configLine} />
      <Text wrap="truncate-end">
        <Text color="cyan">{progressBar(state.totalSteps ? state.step / state.totalSteps : 0, Math.min(40, w - 60))}</Text>
        {` ${progressText(state)}`}
      </Text>
      <Text wrap="truncate-end" dimColor>
        {`loss ${fmtNum(state.lastLoss)} · train acc ${fmtAcc(state.lastTrainAcc)} · test acc ${fmtAcc(lastEval?.testAcc)}`}
        {state.lastCheckpointStep !== null ? ` · checkpoint @ ${state.lastCheckpointStep}` : ''}
        {numericsText(state)}
      </Text>
      {sections.map((s, i) => (
        <Box key={s.key} marginTop={i < layout.gaps ? 1 : 0} flexDirection="column">
          {s.node}
        </Box>
      ))}
      {isFinished(state) ? <EndLine state={state} /> : null}
      <KeyHints keymap={LIVE_KEYS} width={w} />
    </Box>
  );
}

function Header({ state, configLine }: { state: LiveState; configLine: boolean }) {
  const h = state.header;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Text bold>bitcycle train </Text>
        <Text>{h?.runId ?? ''}</Text>
        <Text color={STATUS_COLOR[state.status]}>{`  [${state.status}]`}</Text>
      </Text>
      {configLine ? (
        <Text wrap="truncate-end" dimColor>
          {h ? `model ${h.model} · data ${h.dataset} · schedule ${h.schedule} · grad ${h.gradBits} · profile ${h.profile} · baseline ${h.baseline} · batch ${h.batchSize}` : 'preparing the run (data, artifacts, sessions)…'}
        </Text>
      ) : null}
    </Box>
  );
}

/** The end of a run in one line (the error of a failed run comes from the session: sanitized). */
export function endText(state: LiveState): string {
  const s = state.summary;
  const d = state.divergence;
  switch (state.status) {
    case 'failed':
      return `Run failed: ${sanitizeShort(state.error ?? 'unknown error')}`;
    case 'stopped':
      return `Run stopped at step ${state.step} — resumable with --resume`;
    case 'diverged':
      return `Run diverged${d ? ` at step ${d.step}: ${sanitizeShort(d.quantity, 40)} is ${sanitizeShort(d.value, 20)}` : state.error ? `: ${sanitizeShort(state.error)}` : ''} — lower the learning rate or raise the bits`;
    case 'completed':
      return `Run completed${s ? ` — test acc ${fmtAcc(s.testAccuracy)} (best ${fmtAcc(s.bestTestAccuracy)}), ${fmtNum(s.stepsPerSecond)} steps/s` : ''}`;
    default:
      return `Run ended: ${sanitizeShort(state.status, 40)}`;
  }
}

function EndLine({ state }: { state: LiveState }) {
  const color = state.status === 'failed' || state.status === 'diverged' ? 'red' : state.status === 'stopped' ? 'yellow' : 'green';
  return (
    <Text color={color} wrap="truncate-end">
      {endText(state)}
    </Text>
  );
}

const COLS = [15, 12, 8, 12, 9];
const ALIGN = ['left', 'right', 'right', 'right', 'right'] as const;

function CostPanel({ state, width, layerRows }: { state: LiveState; width: number; layerRows: number }) {
  const c = state.cost;
  const h = state.header;
  if (!c) return <Text dimColor>{h?.profile === 'none' ? 'Cost: no hardware profile (--profile none)' : 'Cost: waiting for the run to start'}</Text>;
  const title = `Cost so far on ${sanitizeShort(c.profile, 60)} (vs ${sanitizeShort(c.baseline.schedule, 40)})`;
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
        ? run.byLayer.map((l, i) => ({ label: sanitize(l.layer), run: l, base: base?.byLayer[i] }))
        : PHASES.map((p) => ({ label: PHASE_LABEL[p]!, run: run.byPhase[p], base: base?.byPhase[p] }));
    const total = groups.reduce((a, g) => a + g.run.energyJ, 0);
    lines.push(row([state.panel === 'layers' ? 'layer' : 'phase', 'energy', 'share', 'baseline', 'savings'], COLS, ALIGN));
    // a deep model has more layers than the terminal has rows: the rest in one line
    const shown = groups.length > layerRows ? groups.slice(0, Math.max(0, layerRows - 1)) : groups;
    for (const g of shown) {
      lines.push(row([g.label, fmtSI(g.run.energyJ, 'J'), fmtPct(total > 0 ? (100 * g.run.energyJ) / total : null, 0), fmtSI(g.base?.energyJ, 'J'), fmtPct(g.base ? savingPct(g.run.energyJ, g.base.energyJ) : null)], COLS, ALIGN));
    }
    if (shown.length < groups.length) {
      const rest = groups.slice(shown.length);
      const energy = rest.reduce((a, g) => a + g.run.energyJ, 0);
      lines.push(row([`+${rest.length} layers`, fmtSI(energy, 'J'), fmtPct(total > 0 ? (100 * energy) / total : null, 0), '', ''], COLS, ALIGN));
    }
  }
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text bold>{title}</Text>
        <Text dimColor>{`  · ${panelTitle} (b: next view) · ${c.steps} steps tallied`}</Text>
      </Text>
      {lines.map((l, i) => (
        <Text key={i} color={i === 0 ? 'gray' : undefined} wrap="truncate-end">
          {l}
        </Text>
      ))}
    </Box>
  );
}

export interface LiveAppProps {
  store: Store<LiveState, LiveEvent>;
  onAction: (action: LiveAction) => void;
  /** Columns and rows (default: the terminal's). */
  width?: number;
  height?: number;
}

/** Store-connected live view with the key hub. */
export function LiveApp({ store, onAction, width, height }: LiveAppProps) {
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot);
  const size = useTerminalSize();
  useInput((input, key) => {
    const action = lookupKey(LIVE_KEYS, keyName(input, key));
    if (action) onAction(action);
  });
  return <LiveScreen state={state} width={width ?? (size.columns || 100)} height={height ?? (size.rows || undefined)} />;
}
