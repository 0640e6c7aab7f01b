/** The Pareto front of runs: cheapest for their accuracy. Pure. */

export interface ParetoPoint {
  id: string;
  /** Lower is better (energy). */
  cost: number;
  /** Higher is better (accuracy). */
  quality: number;
}

/** Ids of the points no other point beats on both cost (≤) and quality (≥), one strictly. */
export function paretoFront(points: readonly ParetoPoint[]): Set<string> {
  const sorted = [...points].filter((p) => Number.isFinite(p.cost) && Number.isFinite(p.quality)).sort((a, b) => a.cost - b.cost || b.quality - a.quality);
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
