import type { Command } from 'commander';
import { makeSchedule, scheduleBits } from '../../schedule/index.js';
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
      const bits = Array.from(scheduleBits(schedule, total));
      if (opts.json) {
        printJson({ schedule: schedule.name, iterations: total, bits });
      } else {
        process.stdout.write(`${schedule.name} over ${total} iterations (min ${Math.min(...bits)}, max ${Math.max(...bits)}, mean ${(bits.reduce((a, b) => a + b, 0) / total).toFixed(3)})\n`);
        process.stdout.write(bits.join(' ') + '\n');
      }
    });
}
