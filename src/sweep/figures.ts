/**
 * A sweep's figures and report from its summaries: the Pareto frontier per group (test error vs a
 * cost, seed error bars = the 95 % interval of the mean), heatmaps over the sweep's axes, and the
 * self-contained HTML page of `bitcycle report`. Chart specs are pure; the report renders them.
 */
import type { TopLevelSpec } from 'vega-lite';
import { fmtAcc, fmtCount, fmtPct, fmtSI } from '../format.js';
import { formatModelSpec } from '../models/spec.js';
import { type FrontierPoint, frontierChart, type HeatmapCell, heatmapChart } from '../plot/charts.js';
import type { Report, ReportSection } from '../report/html.js';
import { COST_AXES, type CostAxis, type ConfigSummary, configLabel, type RunResult } from './summary.js';
import type { SweepPlan } from './spec.js';

const pct = (v: number | null) => (v === null ? null : 100 * v);

/** The summaries of one group (data set · model · length · profile), in order of first appearance. */
export function summaryGroups(summaries: readonly ConfigSummary[]): ConfigSummary[][] {
  const groups = new Map<string, ConfigSummary[]>();
  for (const s of summaries) groups.set(s.group, [...(groups.get(s.group) ?? []), s]);
  return [...groups.values()];
}

export function groupTitle(members: readonly ConfigSummary[]): string {
  const c = members[0]!.config;
  return `${c.dataset} · ${formatModelSpec(c.model)} · ${c.epochs} epochs · ${members[0]!.profile}`;
}

/** Test error (%) vs a cost for one group: one point per configuration, mean over seeds, bars = 95 % interval. */
export function frontierFigure(members: readonly ConfigSummary[], axis: CostAxis): TopLevelSpec {
  const column = COST_AXES[axis].column as 'energy_j';
  const points: FrontierPoint[] = [];
  for (const s of members) {
    const x = s.stats[column];
    const acc = s.stats.test_accuracy;
    if (x.mean === null || acc.mean === null) continue;
    const withBars = acc.ciLow !== null && acc.ciHigh !== null;
    points.push({
      label: s.config.schedule,
      series: `${s.config.lrSchedule} · g${s.config.gradBits}`,
      x: x.mean,
      ...(x.ciLow !== null && x.ciHigh !== null && x.ciHigh > x.ciLow ? { xLow: Math.max(x.ciLow, Number.MIN_VALUE), xHigh: x.ciHigh } : {}),
      y: 100 - pct(acc.mean)!,
      ...(withBars ? { yLow: 100 - pct(acc.ciHigh)!, yHigh: 100 - pct(acc.ciLow)! } : {}),
      onFront: s.front[axis],
    });
  }
  const costs = points.map((p) => p.x).filter((v) => v > 0);
  const xLog = costs.length === points.length && costs.length > 1 && Math.max(...costs) / Math.min(...costs) > 10;
  return frontierChart(points, { xTitle: COST_AXES[axis].title, yTitle: 'test error (%), mean ± 95 % interval over seeds', title: groupTitle(members), xLog, seriesTitle: 'LR · error bits' });
}

export const HEATMAP_VALUES = {
  'test-accuracy': { title: 'test accuracy (%)', value: (s: ConfigSummary) => pct(s.stats.test_accuracy.mean), format: (v: number) => v.toFixed(2), reverse: false },
  'energy-saving': { title: 'energy saving vs static baseline (%)', value: (s: ConfigSummary) => s.stats.energy_saving_pct.mean, format: (v: number) => v.toFixed(1), reverse: false },
  'latency-saving': { title: 'latency saving vs static baseline (%)', value: (s: ConfigSummary) => s.stats.latency_saving_pct.mean, format: (v: number) => v.toFixed(1), reverse: false },
  'robust-bmin': { title: 'test accuracy at Bmin (%)', value: (s: ConfigSummary) => pct(s.stats.robust_acc_bmin.mean), format: (v: number) => v.toFixed(2), reverse: false },
} as const;
export type HeatmapValue = keyof typeof HEATMAP_VALUES;

/**
 * A heatmap of `value` with one row per schedule and one column per profile (costs) or per LR
 * policy · error bits (accuracy, which does not depend on the profile): the axes a sweep varies.
 */
export function heatmapFigure(summaries: readonly ConfigSummary[], value: HeatmapValue): TopLevelSpec {
  const v = HEATMAP_VALUES[value];
  const perProfile = value === 'energy-saving' || value === 'latency-saving';
  const base = perProfile ? summaries : summaries.filter((s) => s.profile === summaries[0]?.profile);
  const columnOf = (s: ConfigSummary) => (perProfile ? s.profile : `${s.config.lrSchedule} · g${s.config.gradBits}`);
  const models = new Set(base.map((s) => `${s.config.dataset} · ${formatModelSpec(s.config.model)}`));
  const rowOf = (s: ConfigSummary) => (models.size > 1 ? `${s.config.dataset} · ${formatModelSpec(s.config.model)} · ${s.config.schedule}` : s.config.schedule);
  const cells: HeatmapCell[] = base.map((s) => ({ row: rowOf(s), column: columnOf(s), value: v.value(s) }));
  return heatmapChart(cells, {
    rowTitle: 'schedule',
    columnTitle: perProfile ? 'profile' : 'LR policy · error bits',
    valueTitle: v.title,
    title: `${v.title}, mean over seeds`,
    rows: [...new Set(cells.map((c) => c.row))],
    columns: [...new Set(cells.map((c) => c.column))],
    format: v.format,
    reverse: v.reverse,
  });
}

/** The report page's content: overview, summary, fronts, heatmaps, every run. Figures are rendered by `render`. */
export async function sweepReport(plan: SweepPlan, summaries: readonly ConfigSummary[], results: readonly RunResult[], render: (spec: TopLevelSpec) => Promise<string>, options: { axis: CostAxis; created: Date; source: string }): Promise<Report> {
  const spec = plan.spec;
  const sections: ReportSection[] = [];
  const finished = new Set(results.filter((r) => r.status !== 'pending').map((r) => r.name)).size;
  sections.push({
    title: 'Sweep',
    text:
      `${plan.runs.length} runs (${finished} finished): models ${spec.models.join(', ')}; data sets ${spec.datasets.join(', ')}; schedules ${spec.schedules.join(', ')}; ` +
      `error bits ${spec.gradBits.join(', ')}; LR policies ${spec.lrSchedules.join(', ')} at lr ${spec.lr}; ${typeof spec.seeds === 'number' ? `${spec.seeds} seeds` : `seeds ${spec.seeds.join(', ')}`}; ` +
      `${spec.epochs} epochs, batch ${spec.batchSize}. Each run was trained once and costed on ${plan.profiles.join(', ')} from its stored bit-widths. ` +
      `Intervals are 95 % confidence intervals of the mean over seeds (Student's t). Robustness: accuracy of the trained model evaluated at lower precision.`,
  });
  sections.push({
    title: 'Summary',
    table: {
      columns: ['configuration', 'profile', 'seeds', 'test acc', '95 % interval', 'energy', 'latency', 'BitOPs', 'energy saving', 'acc @ Bmax−1', 'acc @ Bmin', `front (${options.axis})`],
      align: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
      rows: summaries.map((s) => [
        configLabel(s.config),
        s.profile,
        `${s.completed}/${s.seeds}`,
        fmtAcc(s.stats.test_accuracy.mean, 2),
        s.stats.test_accuracy.ciLow === null ? '—' : `${fmtAcc(s.stats.test_accuracy.ciLow, 2)} – ${fmtAcc(s.stats.test_accuracy.ciHigh, 2)}`,
        fmtSI(s.stats.energy_j.mean, 'J'),
        fmtSI(s.stats.latency_s.mean, 's'),
        fmtCount(s.stats.bitops.mean),
        fmtPct(s.stats.energy_saving_pct.mean),
        fmtAcc(s.stats.robust_acc_bmax_1.mean, 2),
        fmtAcc(s.stats.robust_acc_bmin.mean, 2),
        s.front[options.axis] ? 'on the front' : '',
      ]),
    },
  });
  const groups = summaryGroups(summaries);
  sections.push({
    title: `Pareto frontiers: test error vs ${COST_AXES[options.axis].title}`,
    text: 'One figure per group of comparable runs (same data set, model, length and profile). Filled diamonds joined by the step line are on the front: no other configuration has both lower error and lower cost.',
    figures: await Promise.all(groups.map(async (g) => ({ svg: await render(frontierFigure(g, options.axis)), caption: groupTitle(g) }))),
  });
  const heatmaps: HeatmapValue[] = ['test-accuracy', 'energy-saving'];
  if (summaries.some((s) => s.stats.robust_acc_bmin.mean !== null)) heatmaps.push('robust-bmin');
  sections.push({ title: 'Heatmaps', figures: await Promise.all(heatmaps.map(async (h) => ({ svg: await render(heatmapFigure(summaries, h)), caption: HEATMAP_VALUES[h].title }))) });
  const firstProfile = plan.profiles[0];
  sections.push({
    title: 'Every run',
    text: `Costs on ${firstProfile}; results.csv in the sweep directory has every profile.`,
    table: {
      columns: ['run', 'seed', 'status', 'test acc', 'energy', 'wall'],
      align: ['left', 'right', 'left', 'right', 'right', 'right'],
      rows: results.filter((r) => r.profile === firstProfile).map((r) => [r.name, r.config.seed, r.status, fmtAcc(r.testAccuracy, 2), fmtSI(r.energyJ, 'J'), fmtSI(r.wallS, 's')]),
    },
  });
  return { title: `bitcycle sweep: ${options.source}`, summary: `${summaries.length} configuration × profile rows from ${finished} runs`, created: options.created, generator: 'bitcycle report', sections };
}
