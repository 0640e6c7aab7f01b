import { basename } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take longest (real processes, signals, training), slowest first, measured in CI.
 * Without a cache of earlier durations (a clean clone, as in CI) vitest starts the largest files
 * first, and these are small: started last, they left one worker idle for ~15 s at the end.
 */
const SLOW_FIRST = [
  'train-cli.test.ts',
  'ui-train-tmux.test.ts',
  'crash.test.ts',
  'optimizers.test.ts',
  'models-cnn.test.ts',
  'sweep-resume.test.ts',
  'sweep-queue.test.ts',
  'peppp.test.ts',
  'e2e-train.test.ts',
  'session-cost.test.ts',
  'resume-integrity.test.ts',
  'noise.test.ts',
  'sweep.test.ts',
  'layer-plan.test.ts',
];

class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = SLOW_FIRST.indexOf(basename(f.moduleId));
      return i < 0 ? SLOW_FIRST.length : i;
    };
    return sorted.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two test files at a time (this project's machines have 2 cores; vitest's default leaves one
    // idle): the suite takes ≈ 62 s instead of ≈ 86–103 s, and the timing-sensitive tests (tmux,
    // signals, crash recovery) wait for events, not for fixed times, so they hold under the load.
    maxWorkers: 2,
    // Test files share their worker's module registry: each file re-importing onnxruntime, Ink,
    // vega, … cost ≈ 14 s of the suite (8–9 s here in CI). Every file leaves process state as it
    // found it (runMain restores stdout, stderr, cwd and env; spies and fake timers are restored).
    isolate: false,
    sequence: { sequencer: SlowFirst },
  },
});
