/**
 * The review screens: each renders a ReviewState (props only).
 */
import { Box, Text } from 'ink';
import { PHASES, type PartsCost } from '../../hw/cost.js';
import type { RunInfo } from '../../runs/read.js';
import { extent, scatterGrid } from '../charts.js';
import { CurveChart, HelpOverlay, KeyHints, row, ScheduleChart, SERIES_COLORS, TrainingCurves } from '../components.js';
import { fit, fmtAcc, fmtCount, fmtNum, fmtPct, fmtSI, fmtTime } from '../../format.js';
import { paretoFront } from '../../analysis/pareto.js';
import { runBits } from '../../analysis/bits.js';
import { COMPARE_METRICS, type RunRow } from '../../analysis/tables.js';
import { savingPct } from '../../hw/savings.js';
import { formatModelSpec } from '../../models/spec.js';
import { FILTER_KEYS, REVIEW_KEYS } from './keys.js';
import { bucketize, evalLine, SORT_LABEL } from './model.js';
import { currentScreen, entryOf, type LoadState, type ReviewState, visibleRows } from './state.js';

const STATUS_COLOR: Record<string, string> = { completed: 'green', running: 'cyan', stopped: 'yellow', interrupted: 'yellow', failed: 'red', damaged: 'red' };
const PHASE_LABEL: Record<string, string> = { forward: 'forward', inputGrad: 'input grad', weightGrad: 'weight grad' };

export function ReviewScreen({ state, width = 100 }: { state: ReviewState; width?: number }) {
  const w = Math.max(70, width);
  const screen = currentScreen(state);
  if (state.help) {
    const title = { list: 'Runs', detail: 'Run', compare: 'Compare', scatter: 'Energy vs accuracy', estimate: 'Re-estimate' }[screen];
    return (
      <Box flexDirection="column" width={w}>
        <HelpOverlay title={title} keymap={REVIEW_KEYS[screen]} />
        {screen === 'list' ? <HelpOverlay title="Filter" keymap={FILTER_KEYS} /> : null}
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

function Footer({ state }: { state: ReviewState }) {
  const screen = currentScreen(state);
  return (
    <Box flexDirection="column">
      {state.message ? <Text color="yellow">{state.message}</Text> : null}
      {state.filtering ? <KeyHints keymap={FILTER_KEYS} /> : <KeyHints keymap={REVIEW_KEYS[screen]} />}
    </Box>
  );
}

// ── list ────────────────────────────────────────────────────────────────────────────────────────

const LIST_FIXED = { mark: 2, model: 7, schedule: 10, profile: 16, acc: 8, energy: 9, savings: 8, status: 11 };

export function ListScreen({ state, width }: { state: ReviewState; width: number }) {
  const rows = visibleRows(state);
  const fixed = Object.values(LIST_FIXED).reduce((a, b) => a + b, 0) + 8;
  const nameWidth = Math.max(12, width - fixed - 1);
  const widths = [LIST_FIXED.mark, nameWidth, LIST_FIXED.model, LIST_FIXED.schedule, LIST_FIXED.profile, LIST_FIXED.acc, LIST_FIXED.energy, LIST_FIXED.savings, LIST_FIXED.status];
  const align = ['left', 'left', 'left', 'left', 'left', 'right', 'right', 'right', 'left'] as const;
  const damaged = state.rows.filter((r) => r.damaged).length;
  const sortLabel = `${SORT_LABEL[state.sort.key]} ${state.sort.desc ? '↓' : '↑'}`;
  const page = rows.slice(state.scroll, state.scroll + state.pageSize);
  const header = row(['', 'run', 'model', 'schedule', 'profile', 'test acc', 'energy', 'savings', 'status'], widths, align);
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text bold>bitcycle review </Text>
        <Text>{state.runsDir}</Text>
        <Text dimColor>{`  ${state.rows.length} runs · ${rows.length} shown · ${state.marked.length} marked${damaged ? ` · ${damaged} damaged` : ''} · sort ${sortLabel}`}</Text>
      </Text>
      <Text wrap="truncate-end">
        {state.filtering || state.filter ? (
          <Text color={state.filtering ? 'cyan' : undefined}>{`filter: ${state.filter}${state.filtering ? '▌' : ''}`}</Text>
        ) : (
          <Text dimColor>filter: (press / to filter)</Text>
        )}
      </Text>
      <Text bold wrap="truncate-end">
        {header}
      </Text>
      {rows.length === 0 ? <Text dimColor>{state.rows.length === 0 ? `no runs in ${state.runsDir}` : 'no run matches the filter'}</Text> : null}
      {page.map((r, i) => (
        <ListRow key={r.dir} row={r} widths={widths} align={align} selected={state.scroll + i === state.cursor} marked={state.marked.includes(r.dir)} />
      ))}
      <Text dimColor>{rows.length ? `${state.cursor + 1}/${rows.length}${rows.length > state.pageSize ? ` · rows ${state.scroll + 1}–${Math.min(rows.length, state.scroll + state.pageSize)}` : ''}` : ''}</Text>
      <Footer state={state} />
    </Box>
  );
}

function ListRow({ row: r, widths, align, selected, marked }: { row: RunRow; widths: number[]; align: readonly ('left' | 'right')[]; selected: boolean; marked: boolean }) {
  const mark = (selected ? '›' : ' ') + (marked ? '●' : ' ');
  if (r.damaged) {
    const restWidth = widths.slice(2, 8).reduce((a, b) => a + b + 1, 0) - 1;
    const text = row([mark, r.name], widths.slice(0, 2)) + ' ' + fit(`⚠ ${r.reason}`, restWidth) + ' ' + fit('damaged', widths[8]!);
    return (
      <Text inverse={selected} color="red" wrap="truncate-end">
        {text}
      </Text>
    );
  }
  const cells = [mark, r.name, r.model, r.schedule, r.profile, fmtAcc(r.testAcc), fmtSI(r.energyJ, 'J'), fmtPct(r.savingsPct), r.status];
  const text = row(cells, widths, align);
  const statusStart = text.length - widths[8]!;
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
  if (!entry) return <Text>no run</Text>;
  if (entry.damaged) {
    return (
      <Box flexDirection="column" width={width}>
        <Text bold>{entry.name}</Text>
        <Text color="red">{`damaged: ${entry.reason}`}</Text>
        <Text dimColor>{entry.dir}</Text>
        <Footer state={state} />
      </Box>
    );
  }
  const run = entry.run;
  const c = run.config;
  const load = state.data[entry.dir];
  const data = load?.status === 'loaded' ? load.data : null;
  const total = Math.max(1, run.progress.totalSteps, data?.steps.length ?? 0);
  const half = Math.floor((width - 2) / 2);
  const bits = runBits(run, data?.steps);
  const pw = half * 2;
  const loss = data ? bucketize(data.steps.map((s) => ({ step: s.step, value: s.loss })), total, pw) : [];
  const trainAcc = data ? bucketize(data.steps.map((s) => ({ step: s.step, value: s.trainAcc })), total, pw) : [];
  const testAcc = data ? evalLine(data.evals, total, pw) : [];
  const maxLoss = Math.max(0.5, ...loss.filter((v): v is number => v !== null));
  const s = run.summary;
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text bold>{entry.name}</Text>
        <Text color={STATUS_COLOR[entry.status]}>{`  [${entry.status}]`}</Text>
        <Text dimColor>{`  step ${run.progress.step}/${run.progress.totalSteps}`}</Text>
      </Text>
      <Text wrap="truncate-end" dimColor>
        {`model ${formatModelSpec(c.model)} · data ${c.dataset} · schedule ${c.schedule} · grad ${c.gradBits} · eval ${c.evalBits} bits · profile ${c.profile} · baseline ${c.baseline}`}
      </Text>
      <Text wrap="truncate-end" dimColor>
        {`epochs ${c.epochs} · batch ${c.batchSize} · lr ${c.lr} (${c.lrSchedule}) · momentum ${c.momentum} · wd ${c.weightDecay} · seed ${c.seed} · ${Object.entries(run.versions)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`}
      </Text>
      <Text wrap="truncate-end">
        {s
          ? `test acc ${fmtAcc(s.testAccuracy)} (best ${fmtAcc(s.bestTestAccuracy)}) · test loss ${fmtNum(s.testLoss)} · final train loss ${fmtNum(s.finalTrainLoss)} · ${fmtNum(s.stepsPerSecond)} steps/s · ${fmtNum(s.wallS)} s`
          : `no summary (${entry.status})`}
        {run.error ? <Text color="red">{` · error: ${run.error}`}</Text> : null}
      </Text>
      {load?.status === 'error' ? <Text color="red">{`damaged: ${load.reason}`}</Text> : null}
      {loadNote(load) ? <Text dimColor>{loadNote(load)}</Text> : null}
      <Box marginTop={1}>
        <ScheduleChart bitsWA={bits.bitsWA} bitsGrad={bits.bitsGrad} width={width} height={3} current={run.progress.step < total ? run.progress.step : null} />
      </Box>
      {data ? (
        <Box marginTop={1}>
          <TrainingCurves loss={loss} trainAcc={trainAcc} testAcc={testAcc} maxLoss={maxLoss} width={width} height={5} />
        </Box>
      ) : null}
      <Box marginTop={1} flexDirection="column">
        <CostSection entry={entry} load={load} width={width} />
      </Box>
      <Footer state={state} />
    </Box>
  );
}

const COST_COLS = [12, 11, 6, 11, 9];
const COST_ALIGN = ['left', 'right', 'right', 'right', 'right'] as const;

function breakdownLines(title: string, groups: { label: string; run: PartsCost; base?: PartsCost }[]): string[] {
  const total = groups.reduce((a, g) => a + g.run.energyJ, 0);
  return [
    row([title, 'energy', 'share', 'baseline', 'savings'], COST_COLS, COST_ALIGN),
    ...groups.map((g) =>
      row([g.label, fmtSI(g.run.energyJ, 'J'), fmtPct(total > 0 ? (100 * g.run.energyJ) / total : null, 0), fmtSI(g.base?.energyJ, 'J'), fmtPct(g.base ? savingPct(g.run.energyJ, g.base.energyJ) : null)], COST_COLS, COST_ALIGN),
    ),
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
  const layers = b ? breakdownLines('layer', b.run.byLayer.map((l, i) => ({ label: l.layer, run: l, base: b.baseline.byLayer[i] }))) : [];
  const colWidth = COST_COLS.reduce((a, b) => a + b + 1, 0);
  const side = width >= colWidth * 2 + 2;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Text bold>{`Cost on ${cost?.profile ?? entry.run.config.profile}`}</Text>
        <Text dimColor>{cost ? ` (baseline ${cost.baseline.schedule})` : ''}</Text>
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
        </Box>
        <Box flexDirection="column" width={colWidth + 1}>
          {layers.map((l, i) => (
            <Text key={`l${i}`} color={i === 0 ? 'gray' : undefined}>
              {l}
            </Text>
          ))}
          {data && !est ? <Text dimColor>{`breakdown unavailable: ${data.estimateError ?? 'no profile'}`}</Text> : null}
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
    metric('run', (e) => e.name.length > colWidth ? '…' + e.name.slice(-(colWidth - 1)) : e.name),
    ...COMPARE_METRICS.map(([label, f]) => metric(label, f)),
    metric('final loss', (e) => fmtNum(e.run.summary?.finalTrainLoss)),
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
          <Text key={e.dir} color={SERIES_COLORS[i % SERIES_COLORS.length]}>{`${i + 1} ${e.name}  `}</Text>
        ))}
      </Text>
      {pending ? <Text dimColor>loading curves …</Text> : null}
      {errors.map((x) => (
        <Text key={x.e.dir} color="red">{`${x.e.name}: ${x.l?.status === 'error' ? x.l.reason : ''}`}</Text>
      ))}
      <Box marginTop={1}>
        <CurveChart title="Test accuracy" series={testSeries} width={half} height={6} min={Math.max(0, Math.floor(accLo * 10) / 10)} max={1} formatY={(v) => `${Math.round(v * 100)}%`} />
        <Box width={2} />
        <CurveChart title="Train loss" series={lossSeries} width={half} height={6} min={0} max={maxLoss} />
      </Box>
      <Footer state={state} />
    </Box>
  );
}

// ── scatter ─────────────────────────────────────────────────────────────────────────────────────

export function ScatterScreen({ state, width }: { state: ReviewState; width: number }) {
  const points = state.entries
    .filter((e): e is RunInfo => !e.damaged && !!e.run.cost && !!e.run.summary)
    .map((e) => ({ entry: e, energyJ: e.run.cost!.energyJ, acc: e.run.summary!.testAccuracy }));
  const skipped = state.entries.length - points.length;
  const front = paretoFront(points.map((p) => ({ id: p.entry.dir, cost: p.energyJ, quality: p.acc })));
  const axisWidth = 7;
  const plotWidth = Math.max(20, width - axisWidth - 2);
  const height = 12;
  // energies of different models or profiles can differ by orders of magnitude: log scale then
  const energies = points.map((p) => p.energyJ).filter((v) => v > 0);
  const logX = energies.length > 1 && Math.max(...energies) / Math.min(...energies) > 10;
  const xOf = (v: number) => (logX ? Math.log10(Math.max(v, 1e-30)) : v);
  const [xLo, xHi] = extent(points.map((p) => xOf(p.energyJ)), 0.05);
  const xLabel = (v: number) => fmtSI(logX ? 10 ** v : v, 'J');
  const [yLo, yHi] = extent(points.map((p) => p.acc), 0.05);
  const grid = scatterGrid(
    [
      ...points.filter((p) => !front.has(p.entry.dir)).map((p) => ({ x: xOf(p.energyJ), y: p.acc, glyph: state.marked.includes(p.entry.dir) ? '●' : '•' })),
      ...points.filter((p) => front.has(p.entry.dir)).map((p) => ({ x: xOf(p.energyJ), y: p.acc, glyph: '◆' })),
    ],
    plotWidth,
    height,
    [xLo, xHi],
    [yLo, yHi],
  );
  const frontRuns = points.filter((p) => front.has(p.entry.dir)).sort((a, b) => a.energyJ - b.energyJ);
  const profiles = new Set(points.map((p) => p.entry.run.cost!.profile));
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text bold>Energy vs test accuracy</Text>
        <Text dimColor>{`  ${points.length} runs · ◆ Pareto front (${front.size}) · • other · ● marked${skipped ? ` · ${skipped} without cost or summary not shown` : ''}`}</Text>
      </Text>
      {profiles.size > 1 ? <Text color="yellow">{`note: runs were costed on ${profiles.size} profiles (${[...profiles].join(', ')}); re-estimate with e to compare on one`}</Text> : null}
      {grid.map((line, r) => {
        const label = r === 0 ? fmtAcc(yHi) : r === height - 1 ? fmtAcc(yLo) : r === Math.floor(height / 2) ? 'acc' : '';
        return (
          <Text key={r}>
            <Text dimColor>{label.padStart(axisWidth)}┤</Text>
            {[...line].map((ch, i) => (ch === '◆' ? <Text key={i} color="yellow">{ch}</Text> : ch === '●' ? <Text key={i} color="cyan">{ch}</Text> : ch))}
          </Text>
        );
      })}
      <Text dimColor>{' '.repeat(axisWidth) + '└' + '─'.repeat(plotWidth)}</Text>
      <Text dimColor>{' '.repeat(axisWidth + 1) + fit(xLabel(xLo), Math.floor(plotWidth / 2)) + fit(`energy${logX ? ' (log)' : ''} → ${xLabel(xHi)}`, plotWidth - Math.floor(plotWidth / 2), 'right')}</Text>
      <Text bold>Pareto front (lowest energy for its accuracy)</Text>
      {frontRuns.map((p) => (
        <Text key={p.entry.dir} wrap="truncate-end">
          <Text color="yellow">◆ </Text>
          {row([p.entry.name, p.entry.run.config.schedule, fmtAcc(p.acc), fmtSI(p.energyJ, 'J'), fmtPct(p.entry.run.cost!.savings.energyPct)], [Math.max(20, width - 46), 10, 8, 10, 9], ['left', 'left', 'right', 'right', 'right'])}
        </Text>
      ))}
      <Footer state={state} />
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
            {`${i === state.profileCursor ? '›' : ' '} ${p}`}
          </Text>
        ))}
        <Footer state={state} />
      </Box>
    );
  }
  const widths = [Math.max(16, width - 74), 16, 10, 10, 10, 9, 10];
  const align = ['left', 'left', 'right', 'right', 'right', 'right', 'right'] as const;
  return (
    <Box flexDirection="column" width={width}>
      <Text bold>{`Re-estimated on ${est.profile}${est.status === 'running' ? ' …' : ''}`}</Text>
      <Text bold wrap="truncate-end">
        {row(['run', 'was (profile)', 'was energy', 'energy', 'baseline', 'savings', 'latency'], widths, align)}
      </Text>
      {est.results.map((r) =>
        r.result ? (
          <Text key={r.dir} wrap="truncate-end">
            {row([r.name, r.original?.profile ?? '—', fmtSI(r.original?.energyJ, 'J'), fmtSI(r.result.cost.energyJ, 'J'), fmtSI(r.result.cost.baseline.energyJ, 'J'), fmtPct(r.result.cost.savings.energyPct), fmtTime(r.result.cost.latencyS)], widths, align)}
          </Text>
        ) : (
          <Text key={r.dir} color="red" wrap="truncate-end">
            {`${fit(r.name, widths[0]!)} ${r.error}`}
          </Text>
        ),
      )}
      <Footer state={state} />
    </Box>
  );
}
