import type { Command } from 'commander';
import { makeSchedule, scheduleBits, scheduleWarning } from '../../schedule/index.js';
import { parseIntOption, printJson } from '../output.js';

export function register(program: Command): void {
  program
    .command('schedule')
    .description('print the bit-width of every iteration of a precision schedule')
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
        process.stdout.write(bits.join(' ') + '\n');
      }
    });
}
