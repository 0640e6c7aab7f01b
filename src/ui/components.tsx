/**
 * Presentational pieces shared by the live view and the review screens. Props in, text out.
 */
import { Box, Text } from 'ink';
import { useMemo } from 'react';
import type { BitsSource } from '../analysis/bits.js';
import { blockChart, brailleChart, columnOf, resample } from './charts.js';
import { fit, fmtCount } from '../format.js';
import { type KeyMap, keyLabel } from './keys.js';

export const SERIES_COLORS = ['cyan', 'magenta', 'yellow', 'green', 'blue', 'red', 'white'] as const;

export function HelpOverlay<A>({ title, keymap, closeHint = 'press ? or Esc to close' }: { title: string; keymap: KeyMap<A>; closeHint?: string | null }) {
  const width = Math.max(...keymap.map((b) => keyLabel(b.keys).length), 4) + 2;
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Text bold>{title} — keys</Text>
      {keymap.map((b) => (
        <Text key={b.help}>
          <Text color="cyan">{keyLabel(b.keys).padEnd(width)}</Text>
          {b.help}
        </Text>
      ))}
      {closeHint ? <Text dimColor>{closeHint}</Text> : null}
    </Box>
  );
}

const HINT_SEPARATOR = ' · ';

/**
 * The hint line's text: every hint when it fits in `width`; else, in order, the hints that still
 * fit, and always the last two (help and quit/back), so a narrow terminal says how to get out.
 */
export function hintLine<A>(keymap: KeyMap<A>, width = Number.POSITIVE_INFINITY): string {
  const parts = keymap.filter((b) => b.hint).map((b) => `${keyLabel(b.keys.filter((k) => !k.startsWith('ctrl-')))} ${b.hint}`);
  const all = parts.join(HINT_SEPARATOR);
  if (all.length <= width || parts.length <= 2) return all;
  const pinned = parts.slice(-2);
  const kept: string[] = [];
  for (const part of parts.slice(0, -2)) {
    if ([...kept, part, ...pinned].join(HINT_SEPARATOR).length <= width) kept.push(part);
  }
  return [...kept, ...pinned].join(HINT_SEPARATOR);
}

/** One line of "key action" hints from the same key map as the help overlay. */
export function KeyHints<A>({ keymap, width }: { keymap: KeyMap<A>; width?: number }) {
  return (
    <Text dimColor wrap="truncate-end">
      {hintLine(keymap, width)}
    </Text>
  );
}

export interface CurveSeries {
  label: string;
  values: readonly (number | null)[];
  color?: string;
}

/**
 * A braille line chart with y-axis labels and a legend. Values are spread over the full width:
 * pass `length` when the series covers only part of the x range (e.g. a run still training).
 */
export function CurveChart({
  title,
  series,
  width,
  height,
  min,
  max,
  formatY = (v: number) => v.toFixed(2),
  length,
}: {
  title: string;
  series: readonly CurveSeries[];
  width: number;
  height: number;
  min: number;
  max: number;
  formatY?: (v: number) => string;
  length?: number;
}) {
  const axisWidth = Math.max(formatY(max).length, formatY(min).length);
  const plotWidth = Math.max(4, width - axisWidth - 1);
  const chart = brailleChart(
    series.map((s) => ({ values: resample(s.values, plotWidth * 2, length ?? s.values.length) })),
    plotWidth,
    height,
    min,
    max,
  );
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text bold>{title}</Text>
        {series.map((s, i) => (
          <Text key={s.label} color={s.color ?? SERIES_COLORS[i % SERIES_COLORS.length]}>
            {'  ━ ' + s.label}
          </Text>
        ))}
      </Text>
      {chart.lines.map((line, r) => {
        const label = r === 0 ? formatY(max) : r === height - 1 ? formatY(min) : '';
        return (
          <Text key={r} wrap="truncate-end">
            <Text dimColor>{label.padStart(axisWidth)}┤</Text>
            {segments(line, chart.owner[r]!).map((seg, i) => (
              <Text key={i} color={seg.owner >= 0 ? (series[seg.owner]?.color ?? SERIES_COLORS[seg.owner % SERIES_COLORS.length]) : undefined}>
                {seg.text}
              </Text>
            ))}
          </Text>
        );
      })}
    </Box>
  );
}

function segments(line: string, owner: number[]): { text: string; owner: number }[] {
  const chars = [...line];
  const out: { text: string; owner: number }[] = [];
  chars.forEach((ch, i) => {
    const o = owner[i] ?? -1;
    const last = out[out.length - 1];
    if (last && last.owner === o) last.text += ch;
    else out.push({ text: ch, owner: o });
  });
  return out;
}

/** Iterations as text: exact up to a million, then SI (`88000`, `1.2 M`, `1 T`). */
function iterationsText(total: number): string {
  return total < 1e6 ? String(total) : fmtCount(total);
}

/** Lines a ScheduleChart of `height` W/A rows takes (title, W/A rows, G row, marker). */
export function scheduleChartLines(height: number, marker: boolean): number {
  return 1 + height + 1 + (marker ? 1 : 0);
}

/**
 * The precision schedule over the whole run: W/A bits as a block chart, gradient bits as a strip,
 * the part already trained in colour, the current iteration marked with ▲. The chart asks its
 * source for one value per column (memoized per source and width), so its cost depends on the
 * terminal's width, not on the run's length.
 */
export function ScheduleChart({
  source,
  width,
  height = 3,
  current,
  title = 'Precision schedule',
}: {
  source: BitsSource;
  width: number;
  height?: number;
  /** Iterations done (null: no marker, whole chart in colour). */
  current: number | null;
  title?: string;
}) {
  const total = source.total;
  const labelWidth = 4;
  const plotWidth = Math.max(4, width - labelWidth - 1);
  const { minWA, maxWA, minG, maxG } = source.range;
  const maxBits = Math.max(8, maxWA ?? 0, maxG ?? 0);
  const { waRows, gRow } = useMemo(() => {
    const { wa, g } = source.columns(plotWidth);
    return { waRows: blockChart(wa, height, 0, maxBits), gRow: blockChart(g, 1, 0, maxBits)[0]! };
  }, [source, plotWidth, height, maxBits]);
  const doneCols = current === null ? plotWidth : total > 0 ? Math.min(plotWidth, Math.ceil((current * plotWidth) / total)) : 0;
  const marker = current === null ? -1 : columnOf(Math.min(current, Math.max(0, total - 1)), total, plotWidth);
  const now = current !== null && total > 0 ? source.at(Math.min(current, total - 1)) : null;
  const span = (lo: number | null, hi: number | null) => (lo === null || hi === null ? '?' : `${lo}–${hi}`);
  const split = (row: string) => (
    <>
      <Text color="cyan">{row.slice(0, doneCols)}</Text>
      <Text dimColor>{row.slice(doneCols)}</Text>
    </>
  );
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text bold>{title}</Text>
        <Text dimColor>
          {`  W/A ${span(minWA, maxWA)} bits · G ${span(minG, maxG)} bits · ${iterationsText(total)} iterations`}
          {now ? `  now W/A ${now.wa} G ${now.g}` : ''}
        </Text>
      </Text>
      {waRows.map((row, r) => (
        <Text key={r} wrap="truncate-end">
          <Text dimColor>{fit(r === 0 ? `${maxBits}b` : r === height - 1 ? 'W/A' : '', labelWidth, 'right')}┤</Text>
          {split(row)}
        </Text>
      ))}
      <Text wrap="truncate-end">
        <Text dimColor>{fit('G', labelWidth, 'right')}┤</Text>
        {split(gRow)}
      </Text>
      {marker >= 0 ? (
        // the label goes left of the marker when there is no room on its right
        labelWidth + 1 + marker + 1 + ` it ${current}`.length > width ? (
          <Text wrap="truncate-end">
            {' '.repeat(Math.max(0, labelWidth + 1 + marker - ` it ${current}`.length))}
            <Text dimColor>{`it ${current} `}</Text>
            <Text color="yellow">▲</Text>
          </Text>
        ) : (
          <Text wrap="truncate-end">
            {' '.repeat(labelWidth + 1 + marker)}
            <Text color="yellow">▲</Text>
            <Text dimColor>{` it ${current}`}</Text>
          </Text>
        )
      ) : null}
    </Box>
  );
}

/** Fixed-width table row from cells and column widths. */
export function row(cells: readonly string[], widths: readonly number[], align: readonly ('left' | 'right')[] = []): string {
  return cells.map((c, i) => fit(c, widths[i]!, align[i] ?? 'left')).join(' ');
}

/** Loss and train/test accuracy curves side by side (live view and run detail). */
export function TrainingCurves({
  loss,
  trainAcc,
  testAcc,
  maxLoss,
  width,
  height,
  length,
}: {
  loss: readonly (number | null)[];
  trainAcc: readonly (number | null)[];
  testAcc: readonly (number | null)[];
  maxLoss: number;
  /** Total width; each chart takes half less a 2-column gap. */
  width: number;
  height: number;
  /** Number of x positions the series span (default: their length). */
  length?: number;
}) {
  const half = Math.floor((width - 2) / 2);
  return (
    <Box>
      <CurveChart title="Loss" series={[{ label: 'train', values: loss, color: 'magenta' }]} width={half} height={height} min={0} max={maxLoss} length={length} />
      <Box width={2} />
      <CurveChart
        title="Accuracy"
        series={[
          { label: 'train', values: trainAcc, color: 'cyan' },
          { label: 'test', values: testAcc, color: 'yellow' },
        ]}
        width={half}
        height={height}
        min={0}
        max={1}
        formatY={(v) => `${Math.round(v * 100)}%`}
        length={length}
      />
    </Box>
  );
}
