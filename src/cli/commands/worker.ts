import type { Command } from 'commander';
import { sanitizeShort } from '../../util/text.js';
import { parseFloatOption, parseIntOption } from '../output.js';

export function register(program: Command): void {
  program
    .command('worker')
    .description('train the runs that `bitcycle sweep --queue` puts on a Redis queue, until stopped (Ctrl-C: finish the current runs; twice: quit, and the runs go to another worker)')
    .requiredOption('--queue <redis-url>', 'the queue: redis://HOST:PORT')
    .option('--concurrency <n>', 'runs trained at once, each on its own thread', '1')
    .option('--stall-timeout <seconds>', 'a run whose worker stops answering for this long is given to another worker', '30')
    .action(async (flags: { queue: string; concurrency: string; stallTimeout: string }) => {
      const concurrency = parseIntOption('--concurrency', flags.concurrency, 1, 64);
      const stallTimeoutS = parseFloatOption('--stall-timeout', flags.stallTimeout, 2, 86_400);
      const { startQueueWorker, redisConnection } = await import('../../sweep/queue.js');
      redisConnection(flags.queue);
      const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
      const worker = await startQueueWorker({
        url: flags.queue,
        concurrency,
        stallTimeoutS,
        onJob: (event, name, detail) => log(`${event === 'start' ? 'training' : 'finished'} ${sanitizeShort(name, 120)}${detail ? ` (${sanitizeShort(detail, 200)})` : ''}`),
      });
      log(`worker on ${sanitizeShort(flags.queue, 80)}: ${concurrency} run${concurrency === 1 ? '' : 's'} at a time; Ctrl-C to stop`);
      await new Promise<void>((resolve) => {
        let signals = 0;
        const onSignal = () => {
          signals++;
          if (signals === 1) {
            log('stopping after the current runs (Ctrl-C again to quit now)');
            void worker.close().then(resolve);
          } else process.exit(130);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
    });
}
