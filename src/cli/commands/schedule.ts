import type { Command } from 'commander';
import { BitcycleError, ScheduleError } from '../../errors.js';
import { fmtNum } from '../../format.js';
import { type Schedule, lrRates, lrWarning, makeLrPolicy, makeSchedule, parseLrSpec, scheduleBits, scheduleWarning } from '../../schedule/index.js';
import { parseFloatOption, parseIntOption, printJson } from '../output.js';

/** Significant digits of a printed learning rate (three would merge 0.09755 and 0.09758). */
const RATE_DIGITS = 4;

/**
 * The values as text: every value for short schedules (`3 4 6 7 …`), runs of equal values as
 * `value×count` once that is shorter (a 64000-iteration CPT schedule is ~200 runs, not 64000 numbers).
 * Learning rates come already formatted, so equal printed rates make one run.
 */
export function runLengths(bits: ArrayLike<number | string>): string {
  const runs: string[] = [];
  let plain = 0;
  for (let i = 0; i < bits.length; ) {
    let j = i;
    while (j < bits.length && bits[j] === bits[i]) j++;
    runs.push(j - i === 1 ? String(bits[i]) : `${bits[i]}×${j - i}`);
    plain += (j - i) * (String(bits[i]).length + 1);
    i = j;
  }
  const rle = runs.join(' ');
  return rle.length < plain - 1 ? rle : Array.from(bits).join(' ');
}

/** Smallest, largest and mean value, in one pass (spreading 10⁵+ arguments into Math.min overflows the stack). */
function summary(values: ArrayLike<number>): { min: number; max: number; mean: number } {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  return { min, max, mean: sum / values.length };
}

/** A precision spec that fails to parse, when it reads as a learning-rate one: say so. */
function withLrHint(spec: string, error: unknown): unknown {
  if (!(error instanceof ScheduleError)) return error;
  try {
    parseLrSpec(spec);
  } catch {
    return error;
  }
  return new BitcycleError(`${error.message} (with --lr <rate> it reads as a learning-rate policy)`);
}

export function register(program: Command): void {
  program
    .command('schedule')
    .description(
      'print the bit-width of every iteration of a precision policy, or with --lr the rate of every iteration of a learning-rate policy (runs of equal values as value×count; --json lists every value)',
    )
    .argument('<spec>', 'a precision policy (static:B | cpt:Bmin-Bmax[:cycles=N] | tri:… | ramp:… | NAME:Bmin-Bmax[:key=value…]) or, with --lr, a learning-rate policy (constant | cosine | step:every=F | one-cycle | …); see docs/schedules.md')
    .option('--iterations <n>', 'total iterations', '640')
    .option('--lr <rate>', 'read the spec as a learning-rate policy around this base rate (as train --lr … --lr-schedule SPEC)')
    .option('--json', 'print one JSON object')
    .action((spec: string, opts: { iterations: string; lr?: string; json?: boolean }) => {
      const total = parseIntOption('--iterations', opts.iterations, 1);
      if (opts.lr !== undefined) {
        const base = parseFloatOption('--lr', opts.lr, 0);
        const policy = makeLrPolicy(spec);
        const rates = lrRates(policy, base, total);
        const { min, max, mean } = summary(rates);
        const warning = lrWarning(policy, total);
        if (warning) process.stderr.write(`warning: ${warning}\n`);
        if (opts.json) {
          printJson({ schedule: policy.name, lr: base, iterations: total, min, max, mean, rates: Array.from(rates), warning });
        } else {
          process.stdout.write(`${policy.name} at --lr ${fmtNum(base, RATE_DIGITS)} over ${total} iterations (min ${fmtNum(min, RATE_DIGITS)}, max ${fmtNum(max, RATE_DIGITS)}, mean ${fmtNum(mean, RATE_DIGITS)})\n`);
          process.stdout.write(runLengths(Array.from(rates, (r) => fmtNum(r, RATE_DIGITS))) + '\n');
        }
        return;
      }
      let schedule: Schedule;
      try {
        schedule = makeSchedule(spec);
      } catch (e) {
        throw withLrHint(spec, e);
      }
      const bits = scheduleBits(schedule, total);
      const { min, max, mean } = summary(bits);
      const warning = scheduleWarning(schedule, total);
      if (warning) process.stderr.write(`warning: ${warning}\n`);
      if (opts.json) {
        printJson({ schedule: schedule.name, iterations: total, min, max, mean, bits: Array.from(bits), warning });
      } else {
        process.stdout.write(`${schedule.name} over ${total} iterations (min ${min}, max ${max}, mean ${mean.toFixed(3)})\n`);
        process.stdout.write(runLengths(bits) + '\n');
      }
    });
}
