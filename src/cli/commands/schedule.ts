import type { Command } from 'commander';
import { makeSchedule, scheduleBits, scheduleWarning } from '../../schedule/index.js';
import { parseIntOption, printJson } from '../output.js';

/**
 * The bits as text: every value for short schedules (`3 4 6 7 …`), runs of equal values as
 * `bits×count` once that is shorter (a 64000-iteration CPT schedule is ~200 runs, not 64000 numbers).
 */
export function runLengths(bits: ArrayLike<number>): string {
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

export function register(program: Command): void {
  program
    .command('schedule')
    .description('print the bit-width of every iteration of a precision schedule (runs of equal bits as bits×count; --json lists every value)')
    .argument('<spec>', 'schedule spec: static:B | cpt:Bmin-Bmax[:cycles=N] | tri:Bmin-Bmax[:cycles=N] | ramp:Bmin-Bmax')
    .option('--iterations <n>', 'total iterations', '640')
    .option('--json', 'print one JSON object')
    .action((spec: string, opts: { iterations: string; json?: boolean }) => {
      const total = parseIntOption('--iterations', opts.iterations, 1);
      const schedule = makeSchedule(spec);
      const bits = scheduleBits(schedule, total);
      // a loop, not Math.min(...bits): spreading 10⁵+ arguments overflows the stack
      let min = Infinity;
      let max = -Infinity;
      let sum = 0;
      for (const b of bits) {
        min = Math.min(min, b);
        max = Math.max(max, b);
        sum += b;
      }
      const warning = scheduleWarning(schedule, total);
      if (warning) process.stderr.write(`warning: ${warning}\n`);
      if (opts.json) {
        printJson({ schedule: schedule.name, iterations: total, min, max, mean: sum / total, bits: Array.from(bits), warning });
      } else {
        process.stdout.write(`${schedule.name} over ${total} iterations (min ${min}, max ${max}, mean ${(sum / total).toFixed(3)})\n`);
        process.stdout.write(runLengths(bits) + '\n');
      }
    });
}
