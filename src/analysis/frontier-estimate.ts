/**
 * Few-evaluation sweeps, part 2: the Pareto frontier of error against cost estimated from a
 * partly trained grid, and how far an estimated frontier is from the true one. Pure.
 *
 * A config's cost is known without training (energy, BitOPs… from the cost model); its error is
 * the mean over tasks of the completed configs × tasks matrix (./completion.ts). Fronts are the
 * existing `paretoFront` (./pareto.ts) with quality = −error, one per cost axis. See docs/peppp.md.
 */
import { errorMatrix, softImpute, SweepPlanError, type ObservedCell, type SoftImputeOptions } from './completion.js';
import { paretoFront } from './pareto.js';

/** A config on one cost axis: lower cost and lower error are better. */
export interface FrontPoint {
  id: string;
  cost: number;
  error: number;
}

/**
 * The configs no other config beats on both cost (≤) and error (≤), one strictly; sorted by cost
 * (so their errors decrease). Missing values (non-finite) are on no front.
 */
export function errorFront(points: readonly FrontPoint[]): FrontPoint[] {
  const ids = paretoFront(points.map((p) => ({ id: p.id, cost: p.cost, quality: Number.isFinite(p.error) ? -p.error : null })));
  return points.filter((p) => ids.has(p.id)).sort((a, b) => a.cost - b.cost || a.error - b.error);
}

/** One cost axis: its name and a cost per config, in the order of the configs. */
export interface CostAxis {
  name: string;
  costs: readonly number[];
}

export interface FrontierInput {
  configs: readonly string[];
  tasks: readonly string[];
  /** Every trained cell (all of them for the true frontier). */
  observed: readonly ObservedCell[];
  costAxes: readonly CostAxis[];
  completion?: SoftImputeOptions;
}

export interface ConfigEstimate {
  id: string;
  /** Mean over tasks of the completed row (observed cells as trained, the others estimated). */
  error: number;
  /** Tasks this config was trained on. */
  observedTasks: number;
}

export interface AxisFront {
  axis: string;
  /** Every config on this axis (cost, estimated error), in the order of the configs. */
  points: FrontPoint[];
  /** Its Pareto front (errorFront), by cost. */
  front: FrontPoint[];
}

export interface FrontierEstimate {
  configs: ConfigEstimate[];
  /** The completed configs × tasks matrix. */
  completed: number[][];
  /** Rank and λ of the completion (0 and 0 when every cell was observed). */
  rank: number;
  lambda: number;
  /** One front per cost axis, in the order of `costAxes`. */
  fronts: AxisFront[];
}

/** A two-way additive fit μ + aᵢ + bⱼ of the observed cells (alternating means, row and column effects shrunk by one pseudo-cell). */
export function additiveFit(matrix: readonly (readonly (number | null)[])[]): { mu: number; rows: number[]; cols: number[] } {
  const m = matrix.length;
  const n = matrix[0]?.length ?? 0;
  const cells: [number, number, number][] = [];
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) if (matrix[i]![j] !== null) cells.push([i, j, matrix[i]![j]!]);
  const mu = cells.reduce((a, [, , x]) => a + x, 0) / Math.max(1, cells.length);
  const rows = new Array<number>(m).fill(0);
  const cols = new Array<number>(n).fill(0);
  for (let iter = 0; iter < 50; iter++) {
    const rs = new Array<number>(m).fill(0);
    const rc = new Array<number>(m).fill(0);
    for (const [i, j, x] of cells) (rs[i]! += x - mu - cols[j]!), rc[i]!++;
    for (let i = 0; i < m; i++) rows[i] = rs[i]! / (rc[i]! + 1);
    const cs = new Array<number>(n).fill(0);
    const cc = new Array<number>(n).fill(0);
    for (const [i, j, x] of cells) (cs[j]! += x - mu - rows[i]!), cc[j]!++;
    for (let j = 0; j < n; j++) cols[j] = cs[j]! / (cc[j]! + 1);
  }
  return { mu, rows, cols };
}

/**
 * Complete the error matrix of the observed cells, average each config's row over the tasks, and
 * take the front of those errors against each cost axis. The completion is `softImpute` of the
 * residuals of a two-way additive fit (overall level + config effect + task effect): the nuclear
 * norm shrinks what it cannot see towards zero, so without this an error matrix (all values near,
 * say, 0.05) would be completed towards an error of 0 wherever a row is sparsely observed. With
 * every cell observed this is the true frontier (the matrix is used as is).
 */
export function estimateFrontier(input: FrontierInput): FrontierEstimate {
  const { configs, tasks, observed, costAxes } = input;
  for (const axis of costAxes) {
    if (axis.costs.length !== configs.length) throw new SweepPlanError(`cost axis "${axis.name}" has ${axis.costs.length} costs for ${configs.length} configs`);
  }
  const matrix = errorMatrix(configs, tasks, observed);
  const fit = additiveFit(matrix);
  const base = (i: number, j: number) => fit.mu + fit.rows[i]! + fit.cols[j]!;
  const residuals = matrix.map((row, i) => row.map((x, j) => (x === null ? null : x - base(i, j))));
  const residual = softImpute(residuals, input.completion);
  const completion = { ...residual, completed: residual.completed.map((row, i) => row.map((r, j) => (matrix[i]![j] ?? r + base(i, j)))) };
  for (const [i, row] of matrix.entries()) for (const [j, x] of row.entries()) if (x === null) completion.completed[i]![j] = residual.completed[i]![j]! + base(i, j);
  const estimates = configs.map((id, i) => {
    const row = completion.completed[i]!;
    return { id, error: row.reduce((s, e) => s + e, 0) / row.length, observedTasks: matrix[i]!.filter((e) => e !== null).length };
  });
  const fronts = costAxes.map((axis) => {
    const points = estimates.map((c, i) => ({ id: c.id, cost: axis.costs[i]!, error: c.error }));
    return { axis: axis.name, points, front: errorFront(points) };
  });
  return { configs: estimates, completed: completion.completed, rank: completion.rank, lambda: completion.lambda, fronts };
}

export interface FrontierDistance {
  /**
   * Mean over the true front's points of their Euclidean distance to the estimated front's step
   * curve, in normalized coordinates (see `frontierDistance`). 0: every true-front point lies on it.
   */
  meanDistance: number;
  /** The largest of those distances. */
  maxDistance: number;
  /** Share of the true front's configs that are on the estimated front. */
  recall: number;
  /** Share of the estimated front's configs that are on the true front. */
  precision: number;
  /**
   * Mean over the true front's points of the normalized true error lost by choosing with the
   * estimate under that point's cost as a cap (see `frontierDistance`); 0 when every choice is right.
   */
  regret: number;
  /** Ids of the true front and of the estimated front, by cost. */
  trueFront: string[];
  estimatedFront: string[];
}

/** Distance from (px, py) to the axis-parallel segment (x0, y0)–(x1, y1) (infinite ends allowed). */
function segmentDistance(px: number, py: number, x0: number, y0: number, x1: number, y1: number): number {
  const cx = Math.min(Math.max(px, Math.min(x0, x1)), Math.max(x0, x1));
  const cy = Math.min(Math.max(py, Math.min(y0, y1)), Math.max(y0, y1));
  return Math.hypot(px - cx, py - cy);
}

/**
 * Distance from a point to the step curve of a front (sorted by cost, errors decreasing): the graph
 * of ê(c) = the least error among front points of cost ≤ c — a vertical ray up from the cheapest
 * point, a horizontal then vertical step to each next point, a horizontal ray right from the last.
 */
function stepCurveDistance(px: number, py: number, front: readonly { x: number; y: number }[]): number {
  const first = front[0]!;
  const last = front[front.length - 1]!;
  let best = Math.min(segmentDistance(px, py, first.x, first.y, first.x, Infinity), segmentDistance(px, py, last.x, last.y, Infinity, last.y));
  for (let k = 0; k + 1 < front.length; k++) {
    const a = front[k]!;
    const b = front[k + 1]!;
    best = Math.min(best, segmentDistance(px, py, a.x, a.y, b.x, a.y), segmentDistance(px, py, b.x, a.y, b.x, b.y));
  }
  return best;
}

/**
 * How far an estimated frontier is from the true one, on one cost axis. Both arguments list every
 * config (id, cost, error): `estimated` with the estimated errors, `truth` with the trained ones;
 * each front is computed here (errorFront).
 *
 * Coordinates are normalized by the truth over all configs: cost' = (cost − min)/(max − min),
 * error' likewise (a range of 0 counts as 1). The estimated front's step curve is the graph of
 * ê(c) = least estimated error among its configs of cost ≤ c (a vertical ray up from its cheapest
 * config, steps, a horizontal ray right from its last). `meanDistance` / `maxDistance`: the mean /
 * largest Euclidean distance from the true front's points to that curve. `regret`: for each true
 * front point t, the config a user would pick from the estimate with t's cost as a cap (the
 * estimated front's config of least estimated error with cost ≤ t's) has true error e; the regret
 * is (e − t's error)' ≥ 0, averaged (a cap below every estimated-front config counts as 1, the
 * whole error range). `recall` / `precision`: shares of the true / estimated front found by the other.
 */
export function frontierDistance(estimated: readonly FrontPoint[], truth: readonly FrontPoint[]): FrontierDistance {
  const trueById = new Map(truth.map((p) => [p.id, p]));
  for (const p of estimated) if (!trueById.has(p.id)) throw new SweepPlanError(`estimated config "${p.id}" has no true error`);
  const usable = truth.filter((p) => Number.isFinite(p.cost) && Number.isFinite(p.error));
  const range = (values: number[]) => {
    const lo = Math.min(...values);
    const span = Math.max(...values) - lo;
    return { lo, span: span > 0 ? span : 1 };
  };
  const c = range(usable.map((p) => p.cost));
  const e = range(usable.map((p) => p.error));
  const nx = (cost: number) => (cost - c.lo) / c.span;
  const ny = (error: number) => (error - e.lo) / e.span;

  const trueFront = errorFront(truth);
  const estFront = errorFront(estimated);
  const empty = { meanDistance: NaN, maxDistance: NaN, recall: 0, precision: 0, regret: NaN, trueFront: trueFront.map((p) => p.id), estimatedFront: estFront.map((p) => p.id) };
  if (trueFront.length === 0 || estFront.length === 0) return empty;

  const curve = estFront.map((p) => ({ x: nx(p.cost), y: ny(p.error) }));
  const distances = trueFront.map((t) => stepCurveDistance(nx(t.cost), ny(t.error), curve));
  const regrets = trueFront.map((t) => {
    let pick: FrontPoint | undefined;
    for (const p of estFront) if (p.cost <= t.cost) pick = p; // by cost, so the last fitting is the least error
    return pick ? (trueById.get(pick.id)!.error - t.error) / e.span : 1;
  });
  const trueIds = new Set(trueFront.map((p) => p.id));
  const estIds = new Set(estFront.map((p) => p.id));
  const common = [...trueIds].filter((id) => estIds.has(id)).length;
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  return {
    meanDistance: mean(distances),
    maxDistance: Math.max(...distances),
    recall: common / trueIds.size,
    precision: common / estIds.size,
    regret: mean(regrets),
    trueFront: [...trueIds],
    estimatedFront: [...estIds],
  };
}
