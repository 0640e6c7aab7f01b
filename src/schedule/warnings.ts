/**
 * Warnings shared by precision and learning-rate policies: positions in time (fractions of the
 * run) that a run this short cannot resolve. Pure; the cycle warnings, which depend on what a
 * domain can show (rounded bits, real rates), are in schedule.ts and lr.ts.
 */
import { type Fraction, type Shape, fractionOf, warmupSteps } from './shapes.js';

const iterations = (n: number) => `${n} iteration${n === 1 ? '' : 's'}`;

/** One line per position of `shape` (and its warm-up) that falls apart over `total` iterations. */
export function timingWarnings(name: string, shape: Shape, warmup: Fraction | null, total: number): string[] {
  const warnings: string[] = [];
  const start = warmupSteps(warmup, total);
  if (warmup !== null && start === 0) warnings.push(`${name}: warmup=${warmup.text} of ${iterations(total)} is less than one iteration, so there is no warm-up`);
  const span = total - start;
  switch (shape.kind) {
    case 'step':
      if (fractionOf(shape.every, span) < 1) warnings.push(`${name}: every=${shape.every.text} of ${iterations(span)} is less than one iteration, so it decays at every iteration`);
      break;
    case 'multistep': {
      const steps = shape.at.map((f) => fractionOf(f, span));
      const why = [...(steps[0] === 0 ? ['the first decays from the start'] : []), ...(new Set(steps).size < steps.length ? ['some decay on the same iteration'] : [])];
      if (why.length) warnings.push(`${name}: over ${iterations(span)} the milestones at=${shape.at.map((f) => f.text).join('/')} fall on iterations ${steps.join('/')}, so ${why.join(' and ')}`);
      break;
    }
    case 'one-cycle':
      if (shape.peak.value * span < 2) warnings.push(`${name}: peak=${shape.peak.text} of ${iterations(span)} leaves less than 2 iterations to rise`);
      break;
    default:
      break;
  }
  return warnings;
}
