/**
 * The Pareto front of runs: cheapest for their accuracy. Pure.
 *
 * A front only means something among runs that did the same job: the same data set and model,
 * trained for the same number of steps, costed on the same hardware profile. So fronts are
 * computed per group (`paretoGroups`); which group a run belongs to is run analysis
 * (`scatterPoint` in ./tables.ts).
 */

export interface ParetoPoint {
  id: string;
  /** Lower is better (energy). Missing (null, non-finite): not on any front. */
  cost: number | null;
  /** Higher is better (accuracy). Missing (null, non-finite): not on any front. */
  quality: number | null;
}

const usable = (p: ParetoPoint): p is ParetoPoint & { cost: number; quality: number } => Number.isFinite(p.cost) && Number.isFinite(p.quality);

/** Ids of the points no other point beats on both cost (≤) and quality (≥), one strictly. */
export function paretoFront(points: readonly ParetoPoint[]): Set<string> {
  const sorted = points.filter(usable).sort((a, b) => a.cost - b.cost || b.quality - a.quality);
  const front = new Set<string>();
  let best = -Infinity;
  for (const p of sorted) {
    if (p.quality > best) {
      front.add(p.id);
      best = p.quality;
    }
  }
  return front;
}

export interface GroupedPoint extends ParetoPoint {
  /** Points with equal keys are comparable. */
  group: string;
}

export interface ParetoGroup<P extends GroupedPoint> {
  group: string;
  /** The group's points, in input order. */
  points: P[];
  /** Ids of the group's Pareto front. */
  front: Set<string>;
}

/** Points split by group, each with its own front; groups in order of their keys. */
export function paretoGroups<P extends GroupedPoint>(points: readonly P[]): ParetoGroup<P>[] {
  const byGroup = new Map<string, P[]>();
  for (const p of points) {
    const list = byGroup.get(p.group);
    if (list) list.push(p);
    else byGroup.set(p.group, [p]);
  }
  return [...byGroup.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([group, members]) => ({ group, points: members, front: paretoFront(members) }));
}
