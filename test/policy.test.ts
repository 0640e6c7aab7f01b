/**
 * The policy library (src/schedule: shapes.ts, policy.ts, lr.ts, schedule.ts): one grammar and
 * one set of shape functions for precision and learning-rate policies. Expected values are worked
 * out by hand in the comments (level = the shape's value in [0, 1]; precision = rint(Bmin +
 * (Bmax − Bmin)·level), half to even; rate = low + (high − low)·level), never by calling the code.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScheduleError, UsageError } from '../src/errors.js';
import { runJsonSchema } from '../src/runs/run-format.js';
import { lrPolicyOption, lrRates, lrWarning, makeLrPolicy, parseLrSpec } from '../src/schedule/lr.js';
import { formatPolicy, parsePolicy } from '../src/schedule/policy.js';
import { makeSchedule, parseScheduleSpec, scheduleBits, scheduleWarning } from '../src/schedule/schedule.js';
import { runMain } from './helpers/cli.js';

const bits = (spec: string, total: number) => Array.from(scheduleBits(makeSchedule(spec), total));
const rates = (spec: string, base: number, total: number) => Array.from(lrRates(makeLrPolicy(spec), base, total));

/** Element-wise equal to 12 significant digits (the hand values are rounded). */
function expectRates(actual: number[], expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => expect(Math.abs(a - expected[i]!), `index ${i}: ${a} vs ${expected[i]}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected[i]!))));
}

describe('policy grammar', () => {
  it.each([
    // precision: the specs bitcycle always had keep their canonical names
    ['static:8', 'static:8'],
    ['cpt:3-8', 'cpt:3-8'],
    ['cpt:3-8:cycles=32', 'cpt:3-8'],
    ['cpt:3-8:cycles=2', 'cpt:3-8:cycles=2'],
    ['tri:3-8', 'tri:3-8'],
    ['ramp:3-8', 'ramp:3-8'],
    // aliases and defaults
    ['fixed:8', 'static:8'],
    ['constant:4', 'static:4'],
    ['linear:3-8', 'ramp:3-8'],
    ['triangular:2-6:cycles=4', 'tri:2-6:cycles=4'],
    ['triangular2:2-6', 'tri2:2-6'],
    ['cosine-annealing:3-8', 'cosine-anneal:3-8'],
    ['exp_range:3-8:gamma=0.5:cycles=4', 'exp-range:3-8:cycles=4:gamma=0.5'],
    ['exponential:3-8:gamma=0.01', 'exp:3-8'],
    ['polynomial:3-8:power=2', 'poly:3-8:power=2'],
    ['step:3-8:every=.50:gamma=0.1', 'step:3-8:every=0.5'],
    ['multistep:3-8:at=0.5/0.75:gamma=0.5', 'multistep:3-8:at=0.5/0.75:gamma=0.5'],
    ['sin:3-8:cycles=8', 'sine:3-8:cycles=8'],
    ['sgdr:3-8:mult=1', 'cosine-restarts:3-8'],
    ['cosine-restarts:3-8:cycles=3:mult=2', 'cosine-restarts:3-8:cycles=3:mult=2'],
    ['1cycle:3-8:peak=0.30:div=25:final-div=10000', 'one-cycle:3-8'],
    ['one-cycle:3-8:peak=0.25:div=10', 'one-cycle:3-8:peak=0.25:div=10'],
    ['cpt:3-8:warmup=0.10', 'cpt:3-8:warmup=0.1'],
    ['cpt:3-8:warmup=0', 'cpt:3-8'],
  ])('precision %s is %s', (spec, canonical) => {
    expect(makeSchedule(spec).name).toBe(canonical);
    expect(makeSchedule(canonical).name).toBe(canonical);
    expect(formatPolicy(parsePolicy(canonical, 'precision'), 'precision')).toBe(canonical);
  });

  it.each([
    ['constant', 'constant'],
    ['cosine', 'cosine'],
    ['fixed', 'constant'],
    ['static', 'constant'],
    ['constant:0.05', 'constant:0.05'],
    ['warmup=0.05', 'constant:warmup=0.05'],
    ['cosine-anneal:warmup=0.05', 'cosine:warmup=0.05'],
    ['cosine:0-0.1', 'cosine:0-0.1'],
    ['tri:1e-3-0.1', 'tri:0.001-0.1'],
    ['tri:1e-7-1e-1', 'tri:1e-7-0.1'],
    ['step:every=0.3:gamma=0.1', 'step:every=0.3'],
    ['multistep:at=0.5/0.75', 'multistep:at=0.5/0.75'],
    ['one-cycle', 'one-cycle'],
    ['linear', 'ramp'],
    ['exp:gamma=0.001', 'exp:gamma=0.001'],
  ])('learning rate %s is %s', (spec, canonical) => {
    expect(makeLrPolicy(spec).name).toBe(canonical);
    expect(makeLrPolicy(canonical).name).toBe(canonical);
    expect(canonical).not.toContain(',');
  });

  it.each([
    ['step:3-8', /step needs every=F \(e\.g\. step:every=0\.3\)/],
    ['step:3-8:every=0', /every must be a fraction of the run in \(0, 1\]/],
    ['step:3-8:every=1.5', /every must be a fraction of the run in \(0, 1\]/],
    ['multistep:3-8:at=0.75/0.5', /at must list increasing fractions separated by \//],
    ['multistep:3-8:at=1', /at must be a fraction of the run in \(0, 1\)/],
    ['multistep:3-8:at=0.5,0.75', /at must be a fraction of the run/],
    ['cpt:3-8:warmup=1', /warmup must be a fraction of the run in \[0, 1\)/],
    ['exp:3-8:gamma=2', /gamma must be a factor in \(0, 1\], got "2"/],
    ['cpt:3-8:cycles=2:cycles=3', /option cycles is given twice/],
    ['tri:3-8:gamma=0.5', /unknown option "gamma=0\.5" \(allowed for tri: cycles=N, warmup=F\)/],
    ['static:3-8', /expected static:B with one bit-width B/],
    ['step', /expected a range Bmin-Bmax/],
    ['cosine:3-8', /unknown schedule "cosine".*cpt \(CPT’s cosine growth within each cycle\) or cosine-anneal/],
    ['warmup=0.1', /unknown schedule "warmup=0\.1"/],
    ['cpt:3-8,static:8', /expected a range Bmin-Bmax such as 3-8, got "3-8,static"/],
  ])('precision %s is refused: %s', (spec, message) => {
    expect(() => parseScheduleSpec(spec)).toThrow(ScheduleError);
    expect(() => parseScheduleSpec(spec)).toThrow(message);
  });

  it.each([
    ['bogus', /unknown schedule "bogus" \(allowed: constant\[:RATE\], or NAME\[:LOW-HIGH\]/],
    ['tri:0.1-0.01', /the low rate \(0\.1\) must not exceed the high one \(0\.01\)/],
    ['cosine:fast', /expected a range of rates LOW-HIGH such as 0\.01-0\.1, got "fast"/],
    ['constant:abc', /expected a learning rate such as 0\.1 or 1e-3, got "abc"/],
    ['one-cycle:div=0.5', /div must be a number ≥ 1/],
    ['poly:power=-1', /power must be a positive number/],
    ['cosine,step:every=0.5', /unknown schedule "cosine,step"/],
    ['constant:cycles=2', /unknown option "cycles=2" \(allowed for constant: warmup=F\)/],
  ])('learning rate %s is refused: %s', (spec, message) => {
    expect(() => parseLrSpec(spec)).toThrow(ScheduleError);
    expect(() => parseLrSpec(spec)).toThrow(message);
  });

  it('--lr-schedule errors name the option', () => {
    expect(() => lrPolicyOption('bogus')).toThrow(UsageError);
    expect(() => lrPolicyOption('bogus')).toThrow(/^--lr-schedule: schedule "bogus": unknown schedule "bogus"/);
  });
});

describe('precision policies (hand-computed)', () => {
  it('static:B', () => {
    expect(bits('static:8', 4)).toEqual([8, 8, 8, 8]);
  });

  it('step: ×gamma every ⌊every·total⌋ iterations', () => {
    // 8 iterations, every 0.25 → step size 2; levels 1 1 ½ ½ ¼ ¼ ⅛ ⅛ → 2 + 8·level = 10 10 6 6 4 4 3 3
    expect(bits('step:2-10:every=0.25:gamma=0.5', 8)).toEqual([10, 10, 6, 6, 4, 4, 3, 3]);
  });

  it('multistep: ×gamma at each milestone ⌊at·total⌋, ties to even', () => {
    // milestones ⌊0.5·8⌋ = 4 and ⌊0.75·8⌋ = 6; levels 1×4, ½×2, ¼×2 → 8, 3+2.5 = 5.5 → 6 (even), 3+1.25 → 4
    expect(bits('multistep:3-8:at=0.5/0.75:gamma=0.5', 8)).toEqual([8, 8, 8, 8, 6, 6, 4, 4]);
  });

  it('exp: gamma over the whole run', () => {
    // level 0.04^(t/2): 1, 0.2 → 3 + 5·0.2 = 4
    expect(bits('exp:3-8:gamma=0.04', 2)).toEqual([8, 4]);
  });

  it('poly: (1 − t/total)^power', () => {
    // power 1 over 5: 1, .8, .6, .4, .2 → 8 7 6 5 4
    expect(bits('poly:3-8', 5)).toEqual([8, 7, 6, 5, 4]);
  });

  it('ramp (linear): Bmin at t = 0 to Bmax at the last iteration', () => {
    // t/5 over 6: 3 + 5t/5 = 3 4 5 6 7 8
    expect(bits('linear:3-8', 6)).toEqual([3, 4, 5, 6, 7, 8]);
  });

  it('tri2: the triangle, halved every cycle', () => {
    // period 4: triangle 0 ½ 1 ½, second cycle halved 0 ¼ ½ ¼ → 2 + 8·level
    expect(bits('tri2:2-10:cycles=2', 8)).toEqual([2, 6, 10, 6, 2, 4, 6, 4]);
  });

  it('sine: |sin(π·phase)|', () => {
    // one cycle of 6: sin(0)=0 → 3, sin(π/6)=½ → 5, sin(π/3)=0.866 → 6.46 → 6, 1 → 7, 0.866 → 6, ½ → 5
    expect(bits('sine:3-7:cycles=1', 6)).toEqual([3, 5, 6, 7, 6, 5]);
  });

  it('cosine-anneal: ½(1 + cos(π t/total)) from Bmax to Bmin', () => {
    // t = 0…9 of 10: level 1, .9755, .9045, .7939, .6545, .5, .3455, .2061, .0955, .0245
    // → 8, 7.88, 7.52, 6.97, 6.27, 5.5 (→ 6, even), 4.73, 4.03, 3.48, 3.12
    expect(bits('cosine-anneal:3-8', 10)).toEqual([8, 8, 8, 7, 6, 6, 5, 4, 3, 3]);
  });

  it('cosine-restarts: the anneal restarted every cycle (CPT mirrored)', () => {
    // period 6: level 1, .933, .75, .5, .25, .067 → 8, 7.67, 6.75, 5.5 (→ 6), 4.25, 3.33
    expect(bits('cosine-restarts:3-8:cycles=2', 12)).toEqual([8, 8, 7, 6, 4, 3, 8, 8, 7, 6, 4, 3]);
  });

  it('one-cycle: up to Bmax over peak·total − 1 steps, then down', () => {
    // 10 iterations: peak step 0.3·10 − 1 = 2; levels 0.04, 0.52, 1, 0.9505 (t = 3), …, 4e-6 (t = 9)
    // → 3.2 → 3, 5.6 → 6, 8, 7.75 → 8, …, 3
    const b = bits('one-cycle:3-8', 10);
    expect(b.slice(0, 4)).toEqual([3, 6, 8, 8]);
    expect(b[9]).toBe(3);
  });

  it('a warm-up rises from Bmin to the first value, then the function runs over the rest', () => {
    // 8 iterations, W = ⌊0.5·8⌋ = 4: level t/4 of step's first value 1 → 3 4 5 6;
    // then step over 4 with size ⌊0.5·4⌋ = 2: 1 1 0.1 0.1 → 7 7 3.4 → 3, 3
    expect(bits('step:3-7:every=0.5:warmup=0.5', 8)).toEqual([3, 4, 5, 6, 7, 7, 3, 3]);
  });

  it('positions are exact decimal fractions of the run', () => {
    // at=0.29 of 100 is iteration 29 (0.29·100 = 28.999… in floating point)
    const b = bits('multistep:1-2:at=0.29:gamma=0.1', 100);
    expect([b[28], b[29]]).toEqual([2, 1]);
  });

  it('warns where a run is too short for what a policy says', () => {
    expect(scheduleWarning(makeSchedule('step:3-8:every=0.1'), 5)).toMatch(/^step:3-8:every=0\.1: every=0\.1 of 5 iterations is less than one iteration, so it decays at every iteration$/);
    // ⌊0.5·3⌋ = 1 and ⌊0.75·3⌋ = 2 stay apart; ⌊0.6·3⌋ = 1 does not; ⌊0.2·3⌋ = 0 is the start
    expect(scheduleWarning(makeSchedule('multistep:3-8:at=0.5/0.75'), 3)).toBeNull();
    expect(scheduleWarning(makeSchedule('multistep:3-8:at=0.2/0.5'), 3)).toMatch(/fall on iterations 0\/1, so the first decays from the start$/);
    expect(scheduleWarning(makeSchedule('multistep:3-8:at=0.5/0.6'), 3)).toMatch(/fall on iterations 1\/1, so some decay on the same iteration$/);
    expect(scheduleWarning(makeSchedule('cpt:3-8:warmup=0.05'), 10)).toMatch(/warmup=0\.05 of 10 iterations is less than one iteration, so there is no warm-up/);
    expect(scheduleWarning(makeSchedule('cosine-restarts:3-8'), 64)).toMatch(/32 cycles over 64 iterations leave 2 iterations per cycle, so precision only falls to 6 bits/);
    expect(scheduleWarning(makeSchedule('sine:3-8:cycles=2'), 100)).toBeNull();
    expect(scheduleWarning(makeSchedule('one-cycle:3-8'), 1000)).toBeNull();
  });
});

describe('learning-rate policies (hand-computed)', () => {
  it('constant is --lr, or its own rate', () => {
    expect(rates('constant', 0.1, 3)).toEqual([0.1, 0.1, 0.1]);
    expect(rates('constant:0.05', 0.1, 2)).toEqual([0.05, 0.05]);
  });

  it('step: ×0.1 every 30 % of the run', () => {
    // 10 iterations: step size ⌊0.3·10⌋ = 3 → 1×3, 0.1×3, 0.01×3, 0.001
    expectRates(rates('step:every=0.3', 1, 10), [1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001]);
  });

  it('multistep: ×0.1 at 50 % and 75 %', () => {
    expectRates(rates('multistep:at=0.5/0.75', 1, 8), [1, 1, 1, 1, 0.1, 0.1, 0.01, 0.01]);
  });

  it('exp: decays by gamma over the run', () => {
    // 0.01^(t/4): 1, 0.1^½ = 0.316227766017, 0.1, 0.1^1.5 = 0.0316227766017
    expectRates(rates('exp', 1, 4), [1, 0.316227766017, 0.1, 0.0316227766017]);
  });

  it('poly: (1 − t/total)^power down to 0', () => {
    // (1 − t/4)²: 1, 0.5625, 0.25, 0.0625
    expectRates(rates('poly:power=2', 1, 4), [1, 0.5625, 0.25, 0.0625]);
  });

  it('ramp (linear): from --lr/3 to --lr', () => {
    // 0.1 + 0.2·t/3 with --lr 0.3
    expectRates(rates('linear', 0.3, 4), [0.1, 0.1666666666667, 0.2333333333333, 0.3]);
  });

  it('tri: triangle between the two rates', () => {
    expectRates(rates('tri:0-1:cycles=2', 1, 8), [0, 0.5, 1, 0.5, 0, 0.5, 1, 0.5]);
    // without a range: from --lr/3 = 0.1 to 0.3
    expectRates(rates('tri:cycles=2', 0.3, 4), [0.1, 0.3, 0.1, 0.3]);
  });

  it('tri2: amplitude halves every cycle', () => {
    expectRates(rates('tri2:0-1:cycles=2', 1, 8), [0, 0.5, 1, 0.5, 0, 0.25, 0.5, 0.25]);
  });

  it('exp-range: the triangle scaled by gamma^(t/total)', () => {
    // 0.25^(t/8): t=1 0.5·0.25^⅛ = 0.5·0.840896415254 = 0.420448207627; t=2 0.25^¼ = 0.707106781187;
    // t=3 0.5·0.25^⅜ = 0.5·0.594603557501 = 0.297301778751; t=6 0.25^¾ = 0.353553390593; t=7 0.5·0.25^⅞ = 0.5·0.297301778751
    expectRates(rates('exp-range:0-1:cycles=2:gamma=0.25', 1, 8), [0, 0.420448207627, 0.707106781187, 0.297301778751, 0, 0.5 * 0.420448207627, 0.353553390593, 0.148650889375]);
  });

  it('sine: |sin(π·phase)|', () => {
    expectRates(rates('sine:0-1:cycles=2', 1, 8), [0, 0.707106781187, 1, 0.707106781187, 0, 0.707106781187, 1, 0.707106781187]);
  });

  it('cosine: --lr to 0 along half a cosine', () => {
    // 0.05·(1 + cos(π t/4)): 0.1, 0.05·1.707106781187, 0.05, 0.05·0.292893218813
    expectRates(rates('cosine', 0.1, 4), [0.1, 0.0853553390593, 0.05, 0.0146446609407]);
  });

  it('cosine-restarts: restarts, each cycle mult times longer', () => {
    // 9 iterations, 2 cycles, mult 2: T0 = ⌊9·1/3⌋ = 3, then 6; ½(1 + cos(π·Tcur/Ti))
    // 1, .75, .25 | 1, ½(1 + cos(π/6)) = 0.933012701892, .75, .5, .25, ½(1 − cos(π/6)) = 0.066987298108
    expectRates(rates('cosine-restarts:0-1:cycles=2:mult=2', 1, 9), [1, 0.75, 0.25, 1, 0.933012701892, 0.75, 0.5, 0.25, 0.066987298108]);
  });

  it('one-cycle: PyTorch OneCycleLR with max_lr = --lr', () => {
    // 10 iterations: initial 1/25 = 0.04, final 0.04/1e4 = 4e-6, peak at step 0.3·10 − 1 = 2
    // t=1: pct ½ → 1 + (0.04 − 1)/2·(cos(π/2) + 1) = 0.52
    // t=3: pct (3 − 2)/(9 − 2) = 1/7 → 4e-6 + (1 − 4e-6)/2·(cos(π/7) + 1) = 4e-6 + 0.499998·1.900968867902 = 0.950484632
    const r = rates('one-cycle', 1, 10);
    expectRates(r.slice(0, 3), [0.04, 0.52, 1]);
    expect(r[3]).toBeCloseTo(0.950484632, 8);
    expect(r[9]).toBeCloseTo(4e-6, 15);
  });

  it('cpt: CPT’s cosine growth, as a rate', () => {
    // ½(1 − cos(π t/4)): 0, 0.146446609407, 0.5, 0.853553390593
    expectRates(rates('cpt:0-1:cycles=1', 1, 4), [0, 0.146446609407, 0.5, 0.853553390593]);
  });

  it('warm-up: linear from 0 to the first rate, then the function over the rest', () => {
    // W = 2 of 10: 0, ½·1; then cosine over 8: 1, ½(1 + cos(π/8)) = 0.961939766256, …, ½(1 + cos(π/2)) = ½ (t = 6), ½(1 + cos(7π/8)) = 0.038060233744
    const r = rates('cosine:warmup=0.2', 1, 10);
    expectRates([r[0]!, r[1]!, r[2]!, r[3]!, r[6]!, r[9]!], [0, 0.5, 1, 0.961939766256, 0.5, 0.038060233744]);
    // bare options are constant: 0, 0.05, then 0.1
    expectRates(rates('warmup=0.25', 0.1, 8), [0, 0.05, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]);
  });

  it('an explicit range replaces --lr', () => {
    expect(makeLrPolicy('tri:0.01-0.1').range(0.5)).toEqual([0.01, 0.1]);
    expectRates([...makeLrPolicy('tri').range(0.3)], [0.1, 0.3]);
    expect(makeLrPolicy('cosine').range(0.3)).toEqual([0, 0.3]);
  });

  it('warns where a run is too short', () => {
    expect(lrWarning(makeLrPolicy('tri:cycles=20'), 20)).toBe('tri:cycles=20: 20 cycles over 20 iterations leave 1 iteration per cycle, so the rate never leaves where a cycle starts (use fewer cycles, e.g. tri:cycles=10)');
    expect(lrWarning(makeLrPolicy('one-cycle'), 5)).toMatch(/peak=0\.3 of 5 iterations leaves less than 2 iterations to rise/);
    expect(lrWarning(makeLrPolicy('cosine'), 1)).toBeNull();
    expect(lrWarning(makeLrPolicy('tri'), 640)).toBeNull();
  });
});

describe('old learning-rate schedules', () => {
  /** `learningRate` of src/engine/trainer.ts before policies, verbatim. */
  function oldLearningRate(base: number, schedule: 'constant' | 'cosine', t: number, total: number): number {
    if (schedule === 'constant') return base;
    return 0.5 * base * (1 + Math.cos((Math.PI * t) / total));
  }

  it('constant and cosine give the same rates bit for bit', () => {
    for (const schedule of ['constant', 'cosine'] as const) {
      const policy = makeLrPolicy(schedule);
      expect(policy.name).toBe(schedule);
      for (const base of [0.1, 0.05, 0.3, 1e-3, 0.0123, 1, 2.5e-4]) {
        for (const total of [1, 7, 100, 937, 4680]) {
          for (let t = 0; t < total; t++) expect(Object.is(policy.rateAt(base, t, total), oldLearningRate(base, schedule, t, total))).toBe(true);
        }
      }
    }
  });

  it('run.json files keep reading: constant and cosine are valid, the canonical form of any policy too, garbage is not', () => {
    const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'runs', '20261123-120102-mlp-digits-cpt3-8-s1', 'run.json'), 'utf8'));
    const withLr = (lrSchedule: string) => runJsonSchema.safeParse({ ...fixture, config: { ...fixture.config, lrSchedule } });
    for (const spec of ['constant', 'cosine', 'step:every=0.3', 'one-cycle:warmup=0.05']) {
      const parsed = withLr(spec);
      expect(parsed.success).toBe(true);
      expect(parsed.data?.config.lrSchedule).toBe(spec);
    }
    const bad = withLr('bogus');
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toMatch(/unknown schedule "bogus"/);
  });
});

describe('CLI', () => {
  it('schedule draws a learning-rate policy with --lr (text and --json)', async () => {
    const text = await runMain(['schedule', 'cosine', '--lr', '0.1', '--iterations', '10']);
    expect(text.status).toBe(0);
    // 0.05·(1 + cos(π t/10)): the cosines of t and 10 − t cancel but cos 0 = 1, so the mean is 0.05 + 0.05/10 = 0.055
    expect(text.stdout).toBe(
      'cosine at --lr 0.1 over 10 iterations (min 0.002447, max 0.1, mean 0.055)\n' +
        '0.1 0.09755 0.09045 0.07939 0.06545 0.05 0.03455 0.02061 0.009549 0.002447\n',
    );
    const json = await runMain(['schedule', 'step:every=0.5', '--lr', '0.2', '--iterations', '4', '--json']);
    expect(json.status).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed).toMatchObject({ schedule: 'step:every=0.5', lr: 0.2, iterations: 4, max: 0.2, warning: null });
    expectRates(parsed.rates, [0.2, 0.2, 0.02, 0.02]);
    // a learning-rate spec without --lr: refused, with the hint
    const hint = await runMain(['schedule', 'one-cycle', '--iterations', '10']);
    expect(hint.status).toBe(2);
    expect(hint.stderr).toMatch(/^bitcycle: schedule "one-cycle": expected a range Bmin-Bmax .*\(with --lr <rate> it reads as a learning-rate policy\)\n$/);
  });

  it('train --lr-schedule <bad> is one line naming the option, exit 2', async () => {
    const out = mkdtempSync(join(tmpdir(), 'policy-'));
    const r = await runMain(['train', '--out', out, '--lr-schedule', 'cosine:warmup=2']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('bitcycle: --lr-schedule: schedule "cosine:warmup=2": warmup must be a fraction of the run in [0, 1) written as a decimal (e.g. 0.25), got "2"\n');
  });

  it('train follows the policy and stores its canonical form', async () => {
    const out = mkdtempSync(join(tmpdir(), 'policy-'));
    const r = await runMain(['train', '--out', out, '--epochs', '2', '--json', '--lr', '0.1', '--lr-schedule', 'step:every=0.50:gamma=0.1']);
    expect(r.status).toBe(0);
    const { runDir } = JSON.parse(r.stdout);
    const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'));
    expect(run.config).toMatchObject({ lr: 0.1, lrSchedule: 'step:every=0.5' });
    // 44 steps, step size ⌊0.5·44⌋ = 22: 0.1 for steps 0–21, 0.01 for 22–43
    const lr = readFileSync(join(runDir, 'steps.csv'), 'utf8').trim().split('\n').slice(1).map((line) => Number(line.split(',')[5]));
    expect(lr).toHaveLength(44);
    expectRates(lr, [...Array<number>(22).fill(0.1), ...Array<number>(22).fill(0.01)]);
  });
});
