/**
 * The review screens: each renders a ReviewState (props only). Every string from a run directory
 * (names, config, reasons, error messages) is sanitized before it is rendered: rows arrive
 * sanitized from src/analysis/tables.ts, the rest goes through `clean` here.
 */
import { Box, Text } from 'ink';
import { useMemo } from 'react';
import { PHASES, type PartsCost } from '../../hw/cost.js';
import type { RunInfo } from '../../runs/read.js';
import { extent, frontierPlot } from '../charts.js';
import { CurveChart, HelpOverlay, KeyHints, row, ScheduleChart, SERIES_COLORS, TrainingCurves } from '../components.js';
import { fit, fmtAcc, fmtCount, fmtNum, fmtPct, fmtSI, fmtTime } from '../../format.js';
import { runBitsSource } from '../../analysis/bits.js';
import { clean, COMPARE_METRICS, costByFormat, type RunRow } from '../../analysis/tables.js';
import { savingPct } from '../../hw/savings.js';
import { formatModelSpec } from '../../models/spec.js';
import { sanitizeShort } from '../../util/text.js';
import { FILTER_KEYS, HELP_CLOSE_HINT, REVIEW_KEYS } from './keys.js';
import { bucketize, elideMiddle, evalLine, type ListColumn, listCell, listColumns, SORT_LABEL } from './model.js';
import { currentScreen, entryOf, type LoadState, type ReviewState, scatterGroups, shownScatterGroup, visibleRows } from './state.js';

/** Colour of a run status; `diverged` and `failed` in red, not-started and starting grey. */
export const STATUS_COLOR: Readonly<Record<string, string>> = {
  completed: 'green',
  running: 'cyan',
  starting: 'cyan',
  stopped: 'yellow',
  interrupted: 'yellow',
  'not-started': 'gray',
  diverged: 'red',
  failed: 'red',
  damaged: 'red',
};

const PHASE_LABEL: Record<string, string> = { forward: 'forward', inputGrad: 'input grad', weightGrad: 'weight grad' };

export function ReviewScreen({ state, width = 100 }: { state: ReviewState; width?: number }) {
  const w = Math.max(70, width);
  const screen = currentScreen(state);
  if (state.help) {
    const title = { list: 'Runs', detail: 'Run', compare: 'Compare', scatter: 'Energy vs accuracy', estimate: 'Re-estimate' }[screen];
    return (
      <Box flexDirection="column" width={w}>
        <HelpOverlay title={title} keymap={REVIEW_KEYS[screen]} closeHint={HELP_CLOSE_HINT} />
        {screen === 'list' ? <HelpOverlay title="While typing a filter" keymap={FILTER_KEYS} closeHint={null} /> : null}
      </Box>
    );
  }
  switch (screen) {
    case 'list':
      return <ListScreen state={state} width={w} />;
    case 'detail':
      return <DetailScreen state={state} width={w} />;
    case 'compare':
      return <CompareScreen state={state} width={w} />;
    case 'scatter':
      return <ScatterScreen state={state} width={w} />;
    case 'estimate':
      return <EstimateScreen state={state} width={w} />;
  }
}

function Footer({ state, width }: { state: ReviewState; width?: number }) {
  const screen = currentScreen(state);
  return (
    <Box flexDirection="column">
      {state.message ? (
        <Text color="yellow" wrap="truncate-end">
          {sanitizeShort(state.message, 300)}
        </Text>
      ) : null}
      {state.filtering ? <KeyHints keymap={FILTER_KEYS} width={width} /> : <KeyHints keymap={REVIEW_KEYS[screen]} width={width} />}
    </Box>
  );
}

// ── list ────────────────────────────────────────────────────────────────────────────────────────

export function ListScreen({ state, width }: { state: ReviewState; width: number }) {
  const rows = visibleRows(state);
  // widths from every row, not only the filtered ones: columns do not jump while typing a filter
  const columns = useMemo(() => listColumns(state.rows, width), [state.rows, width]);
  const damaged = state.rows.filter((r) => r.damaged).length;
  const sortLabel = `${SORT_LABEL[state.sort.key]} ${state.sort.desc ? '↓' : '↑'}`;
  const page = rows.slice(state.scroll, state.scroll + state.pageSize);
  const header = row(
    columns.map((c) => c.title),
    columns.map((c) => c.width),
    columns.map((c) => c.align),
  );
  const filter = clean(state.filter);
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text bold>bitcycle review </Text>
        <Text>{clean(state.runsDir)}</Text>
        <Text dimColor>{`  ${state.rows.length} runs · ${rows.length} shown · ${state.marked.length} marked${damaged ? ` · ${damaged} damaged` : ''} · sort ${sortLabel}`}</Text>
      </Text>
      <Text wrap="truncate-end">
        {state.filtering ? (
          <Text color="cyan">{`filter: ${filter}▌`}</Text>
        ) : state.filter ? (
          <>
            <Text>{`filter: ${filter}`}</Text>
            <Text dimColor>{'  (/ edit · Esc clear)'}</Text>
          </>
        ) : (
          <Text dimColor>filter: (press / to filter)</Text>
        )}
      </Text>
      <Text bold wrap="truncate-end">
        {header}
      </Text>
      {rows.length === 0 ? <Text dimColor>{state.rows.length === 0 ? `no runs in ${clean(state.runsDir)}` : 'no run matches the filter'}</Text> : null}
      {page.map((r, i) => (
        <ListRow key={r.dir} row={r} columns={columns} selected={state.scroll + i === state.cursor} marked={state.marked.includes(r.dir)} />
      ))}
      <Text dimColor>{rows.length ? `${state.cursor + 1}/${rows.length}${rows.length > state.pageSize ? ` · rows ${state.scroll + 1}–${Math.min(rows.length, state.scroll + state.pageSize)}` : ''}` : ''}</Text>
      <Footer state={state} width={width} />
    </Box>
  );
}

function ListRow({ row: r, columns, selected, marked }: { row: RunRow; columns: readonly ListColumn[]; selected: boolean; marked: boolean }) {
  const mark = (selected ? '›' : ' ') + (marked ? '●' : ' ');
  const nameColumn = columns[1]!;
  const name = elideMiddle(r.name, nameColumn.width);
  const status = columns[columns.length - 1]!;
  if (r.damaged) {
    const restWidth = columns.slice(2, -1).reduce((a, c) => a + c.width + 1, 0) - 1;
    const text = row([mark, name], [2, nameColumn.width]) + ' ' + fit(`⚠ ${r.reason ?? ''}`, restWidth) + ' ' + fit('damaged', status.width);
    return (
      <Text inverse={selected} color="red" wrap="truncate-end">
        {text}
      </Text>
    );
  }
  const cells = columns.map((c) => (c.key === 'mark' ? mark : c.key === 'name' ? name : listCell(r, c.key)));
  const text = row(
    cells,
    columns.map((c) => c.width),
    columns.map((c) => c.align),
  );
  const statusStart = text.length - status.width;
  return (
    <Text inverse={selected} wrap="truncate-end">
      {text.slice(0, statusStart)}
      <Text color={STATUS_COLOR[r.status]}>{text.slice(statusStart)}</Text>
    </Text>
  );
}

// ── detail ──────────────────────────────────────────────────────────────────────────────────────

function loadNote(load: LoadState | undefined): string | null {
  if (!load || load.status === 'loading') return 'loading steps.csv …';
  if (load.status === 'error') return null;
  return null;
}

export function DetailScreen({ state, width }: { state: ReviewState; width: number }) {
  const entry = state.detailDir ? entryOf(state, state.detailDir) : undefined;
  const run = entry && !entry.damaged ? entry.run : null;
  const load = entry ? state.data[entry.dir] : undefined;
  const data = load?.status === 'loaded' ? load.data : null;
  const half = Math.floor((width - 2) / 2);
  const pw = half * 2;
  // per column, never per step: a run.json may claim 10¹² steps (memoized: the data changes rarely)
  const bits = useMemo(() => (run ? runBitsSource(run, data?.steps) : null), [run, data]);
  const charts = useMemo(() => {
    if (!run || !data) return null;
    const total = Math.max(1, run.progress.totalSteps, data.steps.length);
    const loss = bucketize(data.steps.map((s) => ({ step: s.step, value: s.loss })), total, pw);
    const trainAcc = bucketize(data.steps.map((s) => ({ step: s.step, value: s.trainAcc })), total, pw);
    const testAcc = evalLine(data.evals, total, pw);
    let maxLoss = 0.5;
    for (const v of loss) if (v !== null && v > maxLoss) maxLoss = v;
    return { loss, trainAcc, testAcc, maxLoss };
  }, [run, data, pw]);
  if (!entry) return <Text>no run</Text>;
  if (entry.damaged || !run || !bits) {
    return (
      <Box flexDirection="column" width={width}>
        <Text bold wrap="truncate-end">
          {clean(entry.name)}
        </Text>
        <Text color="red" wrap="truncate-end">{`damaged: ${entry.damaged ? sanitizeShort(entry.reason, 300) : ''}`}</Text>
        <Text dimColor wrap="truncate-end">
          {clean(entry.dir)}
        </Text>
        <Footer state={state} width={width} />
      </Box>
    );
  }
  const c = run.config;
  const total = bits.total;
  const s = run.summary;
  const divergence = (run as { divergence?: { step: number; quantity: string; value: string } }).divergence;
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text bold>{clean(entry.name)}</Text>
        <Text color={STATUS_COLOR[entry.status]}>{`  [${clean(entry.status)}]`}</Text>
        <Text dimColor>{`  step ${run.progress.step}/${run.progress.totalSteps}`}</Text>
      </Text>
      <Text wrap="truncate-end" dimColor>
        {`model ${clean(formatModelSpec(c.model))} · data ${clean(c.dataset)} · schedule ${clean(c.schedule)} · grad ${clean(c.gradBits)} · eval ${c.evalBits} bits · profile ${clean(c.profile)} · baseline ${clean(c.baseline)}`}
      </Text>
      <Text wrap="truncate-end" dimColor>
        {`epochs ${c.epochs} · batch ${c.batchSize} · lr ${c.lr} (${clean(c.lrSchedule)}) · momentum ${c.momentum} · wd ${c.weightDecay} · seed ${c.seed} · ${Object.entries(run.versions)
          .map(([k, v]) => `${clean(k)} ${clean(v)}`)
          .join(', ')}`}
      </Text>
      <Text wrap="truncate-end">
        {s
          ? `test acc ${fmtAcc(s.testAccuracy)} (best ${fmtAcc(s.bestTestAccuracy)}) · test loss ${fmtNum(s.testLoss)} · final train loss ${fmtNum(s.finalTrainLoss)} · ${fmtNum(s.stepsPerSecond)} steps/s · ${fmtNum(s.wallS)} s`
          : `no summary (${clean(entry.status)})`}
        {divergence ? <Text color="red">{` · diverged at step ${divergence.step}: ${clean(divergence.quantity)} is ${clean(divergence.value)}`}</Text> : null}
        {run.error ? <Text color="red">{` · error: ${sanitizeShort(run.error, 300)}`}</Text> : null}
      </Text>
      {load?.status === 'error' ? <Text color="red" wrap="truncate-end">{`damaged: ${sanitizeShort(load.reason, 300)}`}</Text> : null}
      {loadNote(load) ? <Text dimColor>{loadNote(load)}</Text> : null}
      <Box marginTop={1}>
        <ScheduleChart source={bits} width={width} height={3} current={run.progress.step < total ? run.progress.step : null} />
      </Box>
      {charts ? (
        <Box marginTop={1}>
          <TrainingCurves loss={charts.loss} trainAcc={charts.trainAcc} testAcc={charts.testAcc} maxLoss={charts.maxLoss} width={width} height={5} />
        </Box>
      ) : null}
      <Box marginTop={1} flexDirection="column">
        <CostSection entry={entry} load={load} width={width} />
      </Box>
      <Footer state={state} width={width} />
    </Box>
  );
}

const COST_COLS = [15, 11, 6, 11, 9];
const COST_ALIGN = ['left', 'right', 'right', 'right', 'right'] as const;

/** Most rows of a breakdown; a deeper model's further layers are summed up in one line. */
const BREAKDOWN_ROWS = 16;

function breakdownLines(title: string, groups: { label: string; run: Pick<PartsCost, 'energyJ'>; base?: Pick<PartsCost, 'energyJ'> }[]): string[] {
  const total = groups.reduce((a, g) => a + g.run.energyJ, 0);
  const share = (energy: number) => fmtPct(total > 0 ? (100 * energy) / total : null, 0);
  const shown = groups.length > BREAKDOWN_ROWS ? groups.slice(0, BREAKDOWN_ROWS - 1) : groups;
  const rest = groups.slice(shown.length);
  const restEnergy = rest.reduce((a, g) => a + g.run.energyJ, 0);
  const restBase = rest.reduce((a, g) => a + (g.base?.energyJ ?? 0), 0);
  return [
    row([title, 'energy', 'share', 'baseline', 'savings'], COST_COLS, COST_ALIGN),
    ...shown.map((g) => row([g.label, fmtSI(g.run.energyJ, 'J'), share(g.run.energyJ), fmtSI(g.base?.energyJ, 'J'), fmtPct(g.base ? savingPct(g.run.energyJ, g.base.energyJ) : null)], COST_COLS, COST_ALIGN)),
    ...(rest.length > 0 ? [row([`+${rest.length} layers`, fmtSI(restEnergy, 'J'), share(restEnergy), fmtSI(restBase, 'J'), fmtPct(savingPct(restEnergy, restBase))], COST_COLS, COST_ALIGN)] : []),
  ];
}

function CostSection({ entry, load, width }: { entry: RunInfo; load: LoadState | undefined; width: number }) {
  const cost = entry.run.cost;
  const data = load?.status === 'loaded' ? load.data : null;
  const totals = cost
    ? [
        row(['', 'run', '', 'baseline', 'savings'], COST_COLS, COST_ALIGN),
        row(['energy', fmtSI(cost.energyJ, 'J'), '', fmtSI(cost.baseline.energyJ, 'J'), fmtPct(cost.savings.energyPct)], COST_COLS, COST_ALIGN),
        row(['latency', fmtTime(cost.latencyS), '', fmtTime(cost.baseline.latencyS), fmtPct(cost.savings.latencyPct)], COST_COLS, COST_ALIGN),
        row(['BitOPs', fmtCount(cost.bitops), '', fmtCount(cost.baseline.bitops), fmtPct(cost.savings.bitopsPct)], COST_COLS, COST_ALIGN),
      ]
    : ['no cost recorded (profile none, or no steps tallied yet)'];
  const est = data?.estimate;
  const b = est?.breakdown;
  const phases = b ? breakdownLines('phase', PHASES.map((p) => ({ label: PHASE_LABEL[p]!, run: b.run.byPhase[p], base: b.baseline.byPhase[p] }))) : [];
  const layers = b ? breakdownLines('layer', b.run.byLayer.map((l, i) => ({ label: clean(l.layer), run: l, base: b.baseline.byLayer[i] }))) : [];
  // where the run's energy went per format (shown when its steps ran in more than one, or in a float format)
  const byFormat = cost && data ? costByFormat(data.steps) : [];
  const formats =
    byFormat.length > 1 || byFormat.some((f) => !/^int\d+ · int\d+$/.test(f.label))
      ? breakdownLines('formats', byFormat.map((f) => ({ label: clean(f.label.replace(/fp[68]-|fp4-/g, '').replace(' · ', '·')), run: { energyJ: f.energyJ }, base: { energyJ: f.baselineEnergyJ } })))
      : [];
  const colWidth = COST_COLS.reduce((a, b) => a + b + 1, 0);
  const side = width >= colWidth * 2 + 2;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Text bold>{`Cost on ${clean(cost?.profile ?? entry.run.config.profile)}`}</Text>
        <Text dimColor>{cost ? ` (baseline ${clean(cost.baseline.schedule)})` : ''}</Text>
      </Text>
      <Box flexDirection={side ? 'row' : 'column'}>
        <Box flexDirection="column" width={colWidth + 1}>
          {totals.map((l, i) => (
            <Text key={i} color={i === 0 ? 'gray' : undefined}>
              {l}
            </Text>
          ))}
          {phases.map((l, i) => (
            <Text key={`p${i}`} color={i === 0 ? 'gray' : undefined}>
              {l}
            </Text>
          ))}
          {formats.map((l, i) => (
            <Text key={`f${i}`} color={i === 0 ? 'gray' : undefined} wrap="truncate-end">
              {l}
            </Text>
          ))}
        </Box>
        <Box flexDirection="column" width={colWidth + 1}>
          {layers.map((l, i) => (
            <Text key={`l${i}`} color={i === 0 ? 'gray' : undefined}>
              {l}
            </Text>
          ))}
          {data && !est ? <Text dimColor wrap="truncate-end">{`breakdown unavailable: ${sanitizeShort(data.estimateError ?? 'no profile', 200)}`}</Text> : null}
        </Box>
      </Box>
    </Box>
  );
}

// ── compare ─────────────────────────────────────────────────────────────────────────────────────

export function CompareScreen({ state, width }: { state: ReviewState; width: number }) {
  const entries = state.compareDirs.map((d) => entryOf(state, d)).filter((e): e is RunInfo => !!e && !e.damaged);
  const labelWidth = 16;
  const colWidth = Math.max(12, Math.min(28, Math.floor((width - labelWidth) / Math.max(1, entries.length)) - 1));
  const widths = [labelWidth, ...entries.map(() => colWidth)];
  const align = ['left', ...entries.map(() => 'right' as const)] as const;
  const metric = (label: string, f: (e: RunInfo) => string) => row([label, ...entries.map(f)], widths, align as readonly ('left' | 'right')[]);
  const lines = [
    metric('run', (e) => elideMiddle(clean(e.name), colWidth)),
    ...COMPARE_METRICS.map(([label, f]) => metric(label, f)),
    metric('final loss', (e) => fmtNum(e.run.summary?.finalTrainLoss ?? null)),
  ];
  const maxStep = Math.max(1, ...entries.map((e) => e.run.progress.totalSteps));
  const half = Math.floor((width - 2) / 2);
  const loaded = entries.map((e) => state.data[e.dir]);
  const testSeries = entries.map((e, i) => {
    const l = loaded[i];
    return { label: `${i + 1}`, values: l?.status === 'loaded' ? evalLine(l.data.evals, maxStep, half * 2) : [], color: SERIES_COLORS[i % SERIES_COLORS.length] };
  });
  const lossSeries = entries.map((e, i) => {
    const l = loaded[i];
    return { label: `${i + 1}`, values: l?.status === 'loaded' ? bucketize(l.data.steps.map((s) => ({ step: s.step, value: s.loss })), maxStep, half * 2) : [], color: SERIES_COLORS[i % SERIES_COLORS.length] };
  });
  const pending = loaded.some((l) => !l || l.status === 'loading');
  const errors = entries.map((e, i) => ({ e, l: loaded[i] })).filter((x) => x.l?.status === 'error');
  const maxLoss = Math.max(0.5, ...lossSeries.flatMap((s) => s.values.filter((v): v is number => v !== null)));
  const testValues = testSeries.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const [accLo] = extent(testValues);
  return (
    <Box flexDirection="column" width={width}>
      <Text bold>{`Compare ${entries.length} runs`}</Text>
      {lines.map((l, i) => (
        <Text key={i} bold={i === 0} wrap="truncate-end">
          {l}
        </Text>
      ))}
      <Text wrap="truncate-end">
        {entries.map((e, i) => (
          <Text key={e.dir} color={SERIES_COLORS[i % SERIES_COLORS.length]}>{`${i + 1} ${clean(e.name)}  `}</Text>
        ))}
      </Text>
      {pending ? <Text dimColor>loading curves …</Text> : null}
      {errors.map((x) => (
        <Text key={x.e.dir} color="red" wrap="truncate-end">{`${clean(x.e.name)}: ${x.l?.status === 'error' ? sanitizeShort(x.l.reason, 300) : ''}`}</Text>
      ))}
      <Box marginTop={1}>
        <CurveChart title="Test accuracy" series={testSeries} width={half} height={6} min={Math.max(0, Math.floor(accLo * 10) / 10)} max={1} formatY={(v) => `${Math.round(v * 100)}%`} />
        <Box width={2} />
        <CurveChart title="Train loss" series={lossSeries} width={half} height={6} min={0} max={maxLoss} />
      </Box>
      <Footer state={state} width={width} />
    </Box>
  );
}

// ── scatter ─────────────────────────────────────────────────────────────────────────────────────

/**
 * Energy against test accuracy, for the runs the list shows (its filter applies), one group of
 * comparable runs at a time (data set, model, steps trained of planned, hardware profile): a
 * Pareto front only means something among runs that did the same job on the same hardware. It
 * opens on the selected run's group; ←/→ go through the others.
 */
export function ScatterScreen({ state, width }: { state: ReviewState; width: number }) {
  const groups = useMemo(() => scatterGroups(state), [state.entries, state.rows, state.filter, state.sort]);
  const shown = shownScatterGroup(state, groups);
  const listed = visibleRows(state).length;
  const plotted = groups.reduce((a, g) => a + g.points.length, 0);
  const skipped = listed - plotted;
  const points = shown?.points ?? [];
  const front = shown?.front ?? new Set<string>();
  const axisWidth = 7;
  const plotWidth = Math.max(20, width - axisWidth - 2);
  const height = 12;
  const plot = frontierPlot(
    points.map((p) => ({ id: p.id, cost: p.cost, quality: p.quality, glyph: state.marked.includes(p.id) ? '●' : '•' })),
    front,
    { width: plotWidth, height, axisWidth, xName: 'energy', xFormat: (v) => fmtSI(v, 'J'), yFormat: (v) => fmtAcc(v) },
  );
  const frontRuns = points.filter((p) => front.has(p.id)).sort((a, b) => a.cost - b.cost);
  const frontName = Math.max(16, width - 2 - (10 + 8 + 9 + 8) - 4); // the glyph, the other columns, the spaces between
  const index = shown ? groups.indexOf(shown) + 1 : 0;
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text bold>Energy vs test accuracy</Text>
        {shown ? <Text>{`  group ${index}/${groups.length}`}</Text> : null}
        {groups.length > 1 ? <Text dimColor>{'  (←/→ other groups)'}</Text> : null}
      </Text>
      {shown ? (
        <Text color="cyan" wrap="truncate-end">
          {shown.points[0]!.label}
        </Text>
      ) : null}
      <Text dimColor wrap="truncate-end">
        {`${points.length} run${points.length === 1 ? '' : 's'} · ◆ Pareto front (${front.size}) · • other · ● marked`}
        {state.filter ? ` · filter "${clean(state.filter)}"` : ''}
        {skipped > 0 ? ` · ${skipped} listed run${skipped === 1 ? '' : 's'} without energy or test accuracy not shown` : ''}
      </Text>
      {shown ? null : <Text color="yellow">{listed ? 'no listed run has both an energy and a test accuracy' : 'no run matches the filter'}</Text>}
      {plot.rows.map(({ label, cells }, r) => (
        <Text key={r}>
          <Text dimColor>{(r === Math.floor(height / 2) ? 'acc'.padStart(axisWidth) : label) + '┤'}</Text>
          {[...cells].map((ch, i) => (ch === '◆' ? <Text key={i} color="yellow">{ch}</Text> : ch === '●' ? <Text key={i} color="cyan">{ch}</Text> : ch))}
        </Text>
      ))}
      <Text dimColor>{plot.axis}</Text>
      <Text dimColor>{plot.xLabels}</Text>
      <Text bold>Pareto front (lowest energy for its accuracy)</Text>
      {frontRuns.map((p) => (
        <Text key={p.id} wrap="truncate-end">
          <Text color="yellow">◆ </Text>
          {row([elideMiddle(clean(p.entry.name), frontName), clean(p.entry.run.config.schedule), fmtAcc(p.quality), fmtSI(p.cost, 'J'), fmtPct(p.entry.run.cost?.savings.energyPct)], [frontName, 10, 8, 9, 8], ['left', 'left', 'right', 'right', 'right'])}
        </Text>
      ))}
      <Footer state={state} width={width} />
    </Box>
  );
}

// ── estimate ────────────────────────────────────────────────────────────────────────────────────

export function EstimateScreen({ state, width }: { state: ReviewState; width: number }) {
  const n = state.estimateDirs.length;
  const est = state.estimate;
  if (!est) {
    return (
      <Box flexDirection="column" width={width}>
        <Text bold>{`Re-estimate ${n} run${n === 1 ? '' : 's'} on another hardware profile`}</Text>
        <Text dimColor>the cost model re-tallies the bit columns of steps.csv — no retraining</Text>
        {state.profiles.map((p, i) => (
          <Text key={p} inverse={i === state.profileCursor}>
            {`${i === state.profileCursor ? '›' : ' '} ${clean(p)}`}
          </Text>
        ))}
        <Footer state={state} width={width} />
      </Box>
    );
  }
  const widths = [Math.max(16, width - 74), 16, 10, 10, 10, 9, 10];
  const align = ['left', 'left', 'right', 'right', 'right', 'right', 'right'] as const;
  return (
    <Box flexDirection="column" width={width}>
      <Text bold>{`Re-estimated on ${clean(est.profile)}${est.status === 'running' ? ' …' : ''}`}</Text>
      <Text bold wrap="truncate-end">
        {row(['run', 'was (profile)', 'was energy', 'energy', 'baseline', 'savings', 'latency'], widths, align)}
      </Text>
      {est.results.map((r) =>
        r.result ? (
          <Text key={r.dir} wrap="truncate-end">
            {row([clean(r.name), clean(r.original?.profile ?? '—'), fmtSI(r.original?.energyJ, 'J'), fmtSI(r.result.cost.energyJ, 'J'), fmtSI(r.result.cost.baseline.energyJ, 'J'), fmtPct(r.result.cost.savings.energyPct), fmtTime(r.result.cost.latencyS)], widths, align)}
          </Text>
        ) : (
          <Text key={r.dir} color="red" wrap="truncate-end">
            {`${fit(clean(r.name), widths[0]!)} ${sanitizeShort(r.error ?? '', 300)}`}
          </Text>
        ),
      )}
      <Footer state={state} width={width} />
    </Box>
  );
}
